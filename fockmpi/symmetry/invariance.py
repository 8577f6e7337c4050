"""Checks that a Hamiltonian commutes with symmetry generators and that they keep the U(1) sector."""
import numpy as np

from ..errors import SectorError
from .encoding import bit_map
from .group import _fmt


# --- invariance of H ---------------------------------------------------------------------------
_FLIP_KIND = {"S+": ("S-", 1.0), "S-": ("S+", 1.0), "Sz": ("Sz", -1.0)}


def transformed(op, permutation, spin_flip=False, eta=None):
    """``g op g^-1`` for the site permutation (``None``: identity), optional spin flip and,
    with ``eta``, particle-hole ``c_i -> eta_i c+_i`` applied after the permutation."""
    from ..models.ops import Operator
    out = {}
    for factors, coef in op.terms.items():
        new = []
        for kind, site, flavor in factors:
            site2 = site if permutation is None else int(permutation[site])
            if spin_flip:
                if kind in _FLIP_KIND:
                    kind, sign = _FLIP_KIND[kind]
                    coef = coef * sign
                elif flavor in (0, 1):
                    flavor = 1 - flavor
            if eta is not None and kind in ("F+", "F-"):
                kind = "F-" if kind == "F+" else "F+"
                coef = coef * eta[site2]
            new.append((kind, site2, flavor))
        key = tuple(new)
        out[key] = out.get(key, 0) + coef
    return Operator(out)


def check_invariance(H, generators, space):
    """Raise :class:`SectorError` naming a term if ``H`` does not commute with a generator.

    Compared as matrices on ``space`` (:func:`~fockmpi.models.matrix_units.matrix_units`), so
    the verdict holds for spin-S sites and boson cutoffs alike.  Not collective."""
    if not generators:  # (expanding H costs ~0.3 ms a term: 10 s for a 13-orbital FCIDUMP)
        return
    from ..models.matrix_units import matrix_units
    reference, source = matrix_units(H, space)
    scale = max([abs(v) for v in reference.values()] + [1e-300])
    for g in generators:
        image, image_source = matrix_units(transformed(H, g.permutation, g.spin_flip,
                                                       g.eta if g.particle_hole else None), space)
        worst, key = 0.0, None
        for k in set(reference) | set(image):
            d = abs(image.get(k, 0) - reference.get(k, 0))
            if d > worst:
                worst, key = d, k
        if worst <= 1e-10 * scale:
            continue
        term = source.get(key) or image_source[key]
        elements = " ".join(f"|{new}><{old}|_{site}" for site, new, old in key)
        raise SectorError(
            f"the Hamiltonian is not invariant under the symmetry '{g.name}': the matrix element "
            f"{elements} (from the term {term}) is {_fmt(image.get(key, 0))} after the transformation "
            f"and {_fmt(reference.get(key, 0))} in H; drop the symmetry from [sector] or make the couplings "
            "symmetric")


def check_sector_preserved(sector, generators):
    """Raise :class:`SectorError` if a generator does not map the U(1) sector onto itself.

    A symmetry sector is a subspace of the U(1) sector only if every generator ``g`` keeps
    every fixed charge: ``Q(g s) = Q(s)`` for all states ``s`` of the sector.  Spin flip maps
    S^z to -S^z (a symmetry only at S^z = 0), particle-hole N to (modes - N) (only at half
    filling), and a permutation may move site-dependent charges.  Decided exactly, not on
    samples: ``Q(g s) - Q(s)`` is a sum over sites, and its smallest and largest value over the
    sector follow from a dynamic program over the sites (partial charges as states).
    Not collective.
    """
    from ..models.space import CHARGE_SCALE
    space, names = sector.space, sector.names
    if not names:
        return
    tables = [space.charge_table(n) for n in names]
    target = tuple(sector.internal[n] for n in names)
    for g in generators:
        perm = tuple(range(space.nsites)) if g.permutation is None else tuple(int(x) for x in g.permutation)
        dest, flipmask = bit_map(space, perm, g.spin_flip, g.particle_hole)
        # per site i and local state v: charge vector before, and change after the move
        steps = []
        for i, site in enumerate(space.sites):
            j, off = perm[i], int(space.offsets[i])
            moves = []
            for v in range(site.dim):
                u = 0
                for k in range(site.nbits):
                    u |= ((v >> k) & 1) << int(dest[off + k])
                w = ((u ^ flipmask) >> int(space.offsets[j])) & ((1 << space.sites[j].nbits) - 1)
                q = tuple(int(t[i, v]) for t in tables)
                moves.append((q, tuple(int(t[j, w]) - int(t[i, v]) for t in tables)))
            steps.append(moves)
        reach = {tuple(0 for _ in names): (np.zeros(len(names), np.int64), np.zeros(len(names), np.int64))}
        for moves in steps:
            nxt = {}
            for q0, (lo, hi) in reach.items():
                for q, d in moves:
                    key = tuple(a + b for a, b in zip(q0, q))
                    d = np.array(d)
                    if key in nxt:
                        nxt[key] = (np.minimum(nxt[key][0], lo + d), np.maximum(nxt[key][1], hi + d))
                    else:
                        nxt[key] = (lo + d, hi + d)
            reach = nxt
        if target not in reach:
            continue  # an empty sector: refused elsewhere
        lo, hi = reach[target]
        if not (np.all(lo == 0) and np.all(hi == 0)):
            image = ",".join(f"{n}={(v + d) / CHARGE_SCALE.get(n, 1):g}"
                             for n, v, d in zip(names, target, lo)) if np.array_equal(lo, hi) else None
            where = (f"to the sector {image}" if image else "onto states of several sectors")
            why = {"spin_flip": "spin flip maps Sz to -Sz (and N_up to N_dn): it is a symmetry of the "
                                "sector only at Sz = 0",
                   "particle_hole": "particle-hole is a symmetry only at half filling (N = number of "
                                    "modes / 2; for electrons N_up = N_dn = sites / 2)"}
            reason = why["particle_hole"] if g.particle_hole else why["spin_flip"] if g.spin_flip \
                else "a symmetry sector must lie inside the U(1) sector"
            raise SectorError(f"the symmetry '{g.name}' maps the sector {sector.label()} {where}: {reason}; "
                              f"drop '{g.name}' from [sector] or change the charges")
