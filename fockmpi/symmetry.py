"""Symmetry groups from site permutations and global spin flip, with one-dimensional irreps.

A symmetry sector fixes, for every generator ``g`` of an abelian-in-the-irrep group, the
eigenvalue ``chi(g)`` of the states: ``g |psi> = chi(g) |psi>``.  The group is closed here
(all products of the generators), every element carries its character, and a set of
characters that is no one-dimensional representation (e.g. a reflection with a momentum
other than 0 or pi) is refused with an error naming the generators.

How a group element acts (written down once; docs/conventions.md, "Lattice symmetries"):

* a site permutation ``p`` (``p[i]`` = image of site ``i``) moves operators,
  ``g c+_{i,s} g^-1 = c+_{p[i],s}``, ``g S^a_i g^-1 = S^a_{p[i]}``, ``g b+_i g^-1 = b+_{p[i]}``,
  and leaves the reference state alone (all spins down, no particles).  On a Fock state the
  local state of site ``i`` moves to site ``p[i]``; for fermions the state picks up the sign
  of the permutation that brings the moved creation operators back to Jordan-Wigner order;
* spin flip: for spins ``S^z -> -S^z``, ``S^+ <-> S^-`` (local state ``v -> 1 - v``, no
  sign); for electrons ``c_{i,up} <-> c_{i,dn}`` (a permutation of modes, with its sign);
* built-in translations ``T_d`` move every site by *minus* one cell along direction ``d``
  (``r -> r - a_d``), so a particle in the plane wave ``sum_r e^{i k.r} c+_r`` has
  ``T_d`` eigenvalue ``e^{i k.a_d}``, and ``momentum = [m1, m2]`` means
  ``chi(T_d) = exp(2 pi i m_d / L_d)``: momenta of particles add up.
  A user generator with ``sector = m`` has ``chi = exp(2 pi i m / order)``.

The arrays the kernels use (see :meth:`SymmetryGroup.kernel_args`): for every element, byte
tables that move the bits of a packed state, an XOR mask (spin flip of spins), masks that
count the fermionic inversions, and the character.
"""
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from .errors import ConfigError, SectorError, did_you_mean

MAX_ELEMENTS = 1 << 16
PRUNE_BITS = 12  # the representative search prunes on the top rows of up to this many bits (table: 32 KiB)


class KernelArrays(NamedTuple):
    """What the kernels need to know of a group (:meth:`SymmetryGroup.kernel_args`), in the
    order of their arguments; every mask and table refers to the sort layout.

    ``tables[h, c, x]``: image under coset representative ``h`` of the bits ``x`` of byte
    ``c``; ``xor[h]``: bits flipped after the move; ``tshift[j]`` = (right shift, left shift)
    and ``tmask[j]`` = (mask, mask) of translation ``j < nx`` along x, rows ``nx + j`` the same
    for y; ``full``: the state's bits; ``rowmin[x]``: the smallest x-rotation of the top rows
    ``x`` (the bits from ``top`` up; a single entry when unused); ``cellmask``: on a chain, the
    lowest bit of every cell of the top row, which starts at bit ``top`` (0 otherwise); ``inversions[e, b]``: fermionic
    bits above ``b`` in Jordan-Wigner order that land below ``b``'s image (the sign of a move
    is the parity of the sum of ``popcount(s & inversions[e, b])`` over the occupied fermionic
    bits ``b``); for particle-hole elements ``phxor[e]`` is the complement applied last and
    ``phmask[e]`` the bits whose occupation before it flips the sign; ``fmask``: the fermionic
    bits; ``chars[e]``: the characters; ``layout``: byte tables packed -> sort layout and back
    (``layout[0]``, ``layout[1]``), or empty when the two are the same.
    """

    tables: np.ndarray
    xor: np.ndarray
    nx: np.int64
    tshift: np.ndarray
    tmask: np.ndarray
    full: np.uint64
    rowmin: np.ndarray
    top: np.int64
    cellmask: np.uint64
    inversions: np.ndarray
    phmask: np.ndarray
    phxor: np.ndarray
    fmask: np.uint64
    chars: np.ndarray
    layout: np.ndarray


def sort_layout(space):
    """``key_bit[b]``: the position of packed bit ``b`` in the sort layout (see
    :meth:`SymmetryGroup.kernel_args`).  Species-major for a space of electron sites only
    (down modes of sites 0, 1, ... in the low half, up modes in the high half), the packed
    layout itself otherwise."""
    n = space.nsites
    if n > 1 and all(s.kind == "electron" for s in space.sites):
        key_bit = np.empty(2 * n, dtype=np.int64)
        key_bit[0::2] = n + np.arange(n)   # up mode of site i (packed bit 2i)
        key_bit[1::2] = np.arange(n)       # down mode of site i (packed bit 2i + 1)
        return key_bit
    return np.arange(space.nbits, dtype=np.int64)


@dataclass
class Generator:
    """One generator: a site permutation (``None``: identity), whether it flips spins, and the
    character of the chosen irrep on it."""

    name: str
    permutation: tuple
    spin_flip: bool
    character: complex
    value: object = None  # what the user wrote (momentum m, parity +-1), for labels
    irrep: tuple = None   # (point group, irrep name) for generators of a built-in point group
    particle_hole: bool = False  # c_i -> eta_i c+_i on every fermionic mode (after the permutation)
    eta: tuple = None            # the signs eta_i per site (particle_hole only)


def _order(perm, flip, ph=False):
    """Order of the element (perm, flip, ph) as a label (signs aside)."""
    ident = tuple(range(len(perm)))
    p, f, h, n = perm, flip, ph, 1
    while p != ident or f or h:
        p = tuple(perm[i] for i in p)
        f, h = f ^ flip, h ^ ph
        n += 1
        if n > MAX_ELEMENTS:
            raise SectorError("a symmetry generator has an order beyond 65536: not a permutation?")
    return n


def _compose(a, b):
    """Label of ``a b`` (first ``b``, then ``a``) for (permutation, flip, particle-hole) labels.
    The operators multiply like the labels up to a sign (the cocycle of
    :meth:`SymmetryGroup._cocycle`), which is 1 without particle-hole."""
    (pa, fa, ha), (pb, fb, hb) = a, b
    return tuple(pa[i] for i in pb), fa ^ fb, ha ^ hb


class SymmetryGroup:
    """The group generated by ``generators`` on ``nsites`` sites, with the characters of a
    one-dimensional irrep.  Not collective.

    Attributes
    ----------
    elements : list of (permutation tuple, spin flip bool, particle-hole bool), identity first
    characters : ndarray complex, the character of each element
    is_real : bool, all characters are +-1
    """

    def __init__(self, nsites, generators, cells=None, space=None, samples=None):
        self.nsites = int(nsites)
        self.generators = list(generators)
        self.cells = cells  # (Lx, Ly, sites per cell) of a Bravais lattice: fast translations
        ident = (tuple(range(self.nsites)), False, False)
        self.eta = next((g.eta for g in self.generators if g.particle_hole), None)
        self._space, self._samples = space, samples
        if self.eta is not None and (space is None or samples is None or not len(samples)):
            raise SectorError("particle-hole needs the space and some states of the sector (internal)")
        gens = []
        for g in self.generators:
            perm = tuple(range(self.nsites)) if g.permutation is None else tuple(int(x) for x in g.permutation)
            if sorted(perm) != list(range(self.nsites)):
                raise ConfigError(f"symmetry {g.name}", f"a permutation of the sites 0..{self.nsites - 1}",
                                  list(perm))
            label = (perm, bool(g.spin_flip), bool(g.particle_hole))
            chi = complex(g.character)
            if g.particle_hole and self._cocycle(label, label) < 0:
                chi *= 1j  # C^2 = -1 here: the eigenvalues of C are +-i; particle_hole = +-1 means +-i
            gens.append((label, chi))
        self._check_commutation(gens)
        chars = {ident: 1.0 + 0j}
        order = [ident]
        frontier = [ident]
        while frontier:
            nxt = []
            for e in frontier:
                for (gp, gc), gen in zip(gens, self.generators):
                    new = _compose(gp, e)
                    c = chars[e] * gc * self._cocycle(gp, e)
                    if new in chars:
                        if abs(chars[new] - c) > 1e-9:
                            pairs = "; ".join(f"{a} and {b} do not commute" for a, b in self.noncommuting)
                            raise SectorError(
                                "the chosen sector does not exist: it is no one-dimensional representation "
                                f"of the group generated by {', '.join(g.name for g in self.generators)} "
                                f"(one symmetry operation would get the characters {_fmt(chars[new])} and "
                                f"{_fmt(c)})" + (f"; {pairs}, so their characters are constrained (e.g. a "
                                                 "reflection needs momentum 0 or pi)" if pairs else ""))
                        continue
                    chars[new] = c
                    order.append(new)
                    nxt.append(new)
                    if len(order) > MAX_ELEMENTS:
                        raise SectorError(f"the symmetry group has more than {MAX_ELEMENTS} elements")
            frontier = nxt
        self.elements = order
        self.characters = np.array([chars[e] for e in order])
        self.characters[np.abs(self.characters.imag) < 1e-14] = self.characters.real[
            np.abs(self.characters.imag) < 1e-14]
        self.is_real = bool(np.all(np.abs(self.characters.imag) < 1e-12))

    def _act(self, label, s):
        """(image, sign) of a packed state under the operator of ``label``: the mode permutation
        (with its Jordan-Wigner sign), then particle-hole (see docs/conventions.md)."""
        space = self._space
        perm, flip, ph = label
        dest, xor = bit_map(space, perm, flip, ph)
        fbits = [b for b in range(space.nbits) if (int(space.fermion_mask) >> b) & 1]
        occ = [b for b in fbits if (s >> b) & 1]
        inversions = sum(1 for i, a in enumerate(occ) for b in occ[i + 1:] if dest[a] > dest[b])
        u = 0
        for b in range(space.nbits):
            u |= ((s >> b) & 1) << int(dest[b])
        sign = -1 if inversions % 2 else 1
        if ph:
            sign *= -1 if (u & self._ph_mask(space)).bit_count() % 2 else 1
        return u ^ xor, sign

    def _cocycle(self, a, b):
        """The sign w with O_a O_b = w O_ab on the sector (1 without particle-hole); checked
        to be the same on every sample state."""
        if self.eta is None:
            return 1
        ab = _compose(a, b)
        signs = set()
        for s in self._samples:
            t, s1 = self._act(b, int(s))
            t, s2 = self._act(a, t)
            t2, s3 = self._act(ab, int(s))
            if t != t2:
                raise SectorError("internal: symmetry images disagree (please report this)")
            signs.add(s1 * s2 * s3)
        if len(signs) != 1:
            raise SectorError("these symmetries do not act as a group up to signs on this sector "
                              "(please report this)")
        return signs.pop()

    def _ph_mask(self, space):
        """Bits b whose occupation flips the particle-hole sign: c_a -> eta c+_a on mode a
        (Jordan-Wigner position) gives (-1)^(sum of occupied a) times the product of eta."""
        mask, mode = 0, 0
        for i, site in enumerate(space.sites):
            for k in range(site.nbits):
                if (site.fermion_bits >> k) & 1:
                    odd = (mode % 2 == 1) ^ (self.eta[i] < 0)
                    if odd:
                        mask |= 1 << int(space.offsets[i] + k)
                    mode += 1
        return mask

    def _check_commutation(self, gens):
        """Record the pairs of generators that do not commute (named when a sector is refused;
        whether the characters are consistent is decided by the closure itself)."""
        self.noncommuting = []
        for a in range(len(gens)):
            for b in range(a + 1, len(gens)):
                ab = _compose(gens[a][0], gens[b][0])
                ba = _compose(gens[b][0], gens[a][0])
                if ab != ba:
                    self.noncommuting.append((self.generators[a].name, self.generators[b].name))

    @property
    def order(self):
        return len(self.elements)

    def label(self):
        """Short label of the sector, e.g. ``T0=3,reflection=-1``."""
        parts = []
        for g in self.generators:
            if g.irrep is not None:
                text = f"point_group={g.irrep[1]}({g.irrep[0]})"
                if text not in parts:
                    parts.append(text)
            else:
                parts.append(f"{g.name}={g.value if g.value is not None else _fmt(g.character)}")
        return ",".join(parts)

    # --- arrays for the kernels --------------------------------------------------------------
    def _split(self, space):
        """Translations ``T`` (a grid ``Tx^jx Ty^jy``, applied in the kernels by shifts) and coset
        representatives ``H`` (applied by byte tables) with ``G = {t h}``.  Without a lattice
        of identical cells, ``T`` is the identity alone."""
        ident = (tuple(range(self.nsites)), False, False)
        members = set(self.elements)
        geometry = (1, 1, 0, 0)
        T = [ident]
        if self.cells is not None:
            Lx, Ly, nsub = self.cells
            cb = sum(s.nbits for s in space.sites[:nsub])
            uniform = Lx * Ly * nsub == self.nsites and all(
                space.sites[i] == space.sites[i % nsub] for i in range(self.nsites))
            tx = tuple(nsub * (((i // nsub) % Lx - 1) % Lx + Lx * ((i // nsub) // Lx)) + i % nsub
                       for i in range(self.nsites))
            ty = tuple(nsub * ((i // nsub) % Lx + Lx * (((i // nsub) // Lx - 1) % Ly)) + i % nsub
                       for i in range(self.nsites))
            nx = Lx if uniform and (tx, False, False) in members else 1
            ny = Ly if uniform and (ty, False, False) in members else 1
            if nx * ny > 1:
                geometry = (nx, ny, cb, Lx * cb)
                T = []
                py = ident
                for jy in range(ny):
                    p = py
                    for jx in range(nx):
                        T.append(p)
                        p = _compose((tx, False, False), p)
                    py = _compose((ty, False, False), py)
        H, covered = [], set()
        for g in self.elements:
            if g not in covered:
                H.append(g)
                covered.update(_compose(t, g) for t in T)
        if H[0] != ident or len(H) * len(T) != self.order or covered != members:
            raise SectorError("internal: the translations are not a normal subgroup (please report this)")
        return T, H, geometry

    def kernel_args(self, space):
        """The arrays of :mod:`fockmpi.kernels` for this group on ``space``, as
        :class:`KernelArrays`.  Element ``e = h * nT + jy * nx + jx`` is ``Tx^jx Ty^jy h``.

        Every array acts on states in the *sort layout* (:func:`sort_layout`): the bit order in
        which representatives are the smallest of their orbit.  It is the packed layout of
        :mod:`fockmpi.space`, except for lattices of electron sites, where all down modes come
        first and all up modes above them (so representatives, and the matrix, are grouped by
        their up configuration: a down hop keeps its column close to the row's).  The
        Jordan-Wigner order of the signs stays that of :mod:`fockmpi.space`.
        """
        T, H, (nx, ny, cb, rb) = self._split(space)
        nbits = space.nbits
        nbytes = max(1, (nbits + 7) // 8)
        key_bit = sort_layout(space)
        x = np.arange(256, dtype=np.uint64)

        def byte_tables(dest):  # tables[c, x]: where the bits x of byte c go
            t = np.zeros((nbytes, 256), dtype=np.uint64)
            for b in range(nbits):
                c, k = divmod(b, 8)
                t[c] |= ((x >> np.uint64(k)) & np.uint64(1)) << np.uint64(dest[b])
            return t

        def to_key(mask):
            return sum(1 << int(key_bit[b]) for b in range(nbits) if (int(mask) >> b) & 1)

        tables = np.zeros((len(H), nbytes, 256), dtype=np.uint64)
        xor = np.zeros(len(H), dtype=np.uint64)
        for h, (perm, flip, ph) in enumerate(H):
            dest, flipmask = bit_map(space, perm, flip, ph)
            key_dest = np.empty(nbits, dtype=np.int64)
            key_dest[key_bit] = key_bit[dest]
            tables[h] = byte_tables(key_dest)
            xor[h] = np.uint64(to_key(flipmask))
        identity = bool(np.all(key_bit == np.arange(nbits)))
        layout = (np.zeros((0, nbytes, 256), dtype=np.uint64) if identity else
                  np.stack([byte_tables(key_bit), byte_tables(np.argsort(key_bit))]))

        # translations as shifts in the sort layout: rows of Lx cells of kc bits; the rows form
        # `blocks` blocks (two for electrons: down, up), y-translations rotate rows within a block
        Lx = rb // cb if cb else 1
        blocks = 1 if identity else 2
        kc = cb // blocks if nx * ny > 1 else nbits
        krb = Lx * kc
        rows = nbits // krb if nx * ny > 1 else 1
        per_block = rows // blocks
        full = (1 << nbits) - 1
        tshift = np.zeros((nx + ny, 2), dtype=np.int64)
        tmask = np.zeros((nx + ny, 2), dtype=np.uint64)
        for j in range(nx):
            lo = sum(((1 << ((Lx - j) * kc)) - 1) << (y * krb) for y in range(rows))
            tshift[j] = (j * kc, (Lx - j) * kc)
            tmask[j] = (np.uint64(lo), np.uint64(full & ~lo))
        for j in range(ny):
            lo = sum(((1 << ((per_block - j) * krb)) - 1) << (k * per_block * krb) for k in range(blocks))
            tshift[nx + j] = (j * krb, (per_block - j) * krb)
            tmask[nx + j] = (np.uint64(lo), np.uint64(full & ~lo))
        top = (rows - 1) * krb  # the most significant row
        rowmin = np.zeros(1, dtype=np.uint64)
        if ny > 1 and krb <= PRUNE_BITS:  # smallest x-rotation of every possible window of top rows
            w = min(rows, PRUNE_BITS // krb)
            top = (rows - w) * krb
            x = np.arange(1 << (w * krb), dtype=np.uint64)
            rowmin = x.copy()
            for j in range(1, nx):
                lo = np.uint64(sum(((1 << ((Lx - j) * kc)) - 1) << (y * krb) for y in range(w)))
                hi = np.uint64((1 << (w * krb)) - 1) & ~lo
                rowmin = np.minimum(rowmin, ((x >> np.uint64(j * kc)) & lo) | ((x << np.uint64((Lx - j) * kc)) & hi))
        cellmask = 0
        if ny == 1 and nx > 2 and nx == Lx:  # a chain: see kernels._chain_candidates
            cellmask = sum(1 << (top + c * kc) for c in range(nx))

        ordered = [_compose(t, h) for h in H for t in T]
        chars_of = dict(zip(self.elements, self.characters))
        chars = np.array([chars_of[g] for g in ordered], dtype=np.complex128)
        fmask = int(space.fermion_mask)
        fbits = [b for b in range(nbits) if (fmask >> b) & 1]
        inversions = np.zeros((len(ordered), 64), dtype=np.uint64)
        if fbits:  # in Jordan-Wigner (packed) order, stored at the sort-layout positions
            for e, (perm, flip, ph) in enumerate(ordered):
                dest, _ = bit_map(space, perm, flip, ph)
                for b in fbits:
                    m = 0
                    for b2 in fbits:
                        if b2 > b and dest[b2] < dest[b]:
                            m |= 1 << int(key_bit[b2])
                    inversions[e, key_bit[b]] = np.uint64(m)
        phmask = np.array([to_key(self._ph_mask(space)) if ph else 0 for _, _, ph in ordered], dtype=np.uint64)
        phxor = np.array([to_key(fmask) if ph else 0 for _, _, ph in ordered], dtype=np.uint64)
        return KernelArrays(tables, xor, np.int64(nx), tshift, tmask, np.uint64(full), rowmin, np.int64(top),
                            np.uint64(cellmask), inversions, phmask, phxor, np.uint64(to_key(fmask)), chars, layout)



def bit_map(space, perm, flip, ph=False):
    """Destination bit of every bit, and the XOR mask, for one element."""
    dest = np.zeros(space.nbits, dtype=np.int64)
    flipmask = 0
    for i, site in enumerate(space.sites):
        j = perm[i]
        if space.sites[j] != site:
            raise SectorError(f"a symmetry maps site {i} ({site.kind}) to site {j} "
                              f"({space.sites[j].kind}): only sites of the same kind can be exchanged")
        for k in range(site.nbits):
            kk = k
            if flip and site.kind == "electron":
                kk = 1 - k  # up <-> down mode
            dest[space.offsets[i] + k] = space.offsets[j] + kk
        if flip:
            if site.kind == "spin":
                flipmask |= 1 << int(space.offsets[j])
            elif site.kind != "electron":
                raise SectorError(f"spin flip is defined for spin and electron sites, not for {site.kind} sites")
        if ph:
            if not site.fermion_bits:
                raise SectorError(f"particle-hole is defined for fermion and electron sites, not for "
                                  f"{site.kind} sites (for spins use spin_flip)")
            flipmask |= site.fermion_bits << int(space.offsets[j])
    return dest, flipmask


def _fmt(c):
    c = complex(c)
    if abs(c.imag) < 1e-12:
        return f"{c.real:g}"
    return f"{c.real:.4g}{c.imag:+.4g}i"


# --- generators of the built-in lattices ------------------------------------------------------
def translation_generators(lattice):
    """The translations of a periodic built-in lattice, one per periodic direction, as
    ``(name, permutation, length)``: ``T_d`` moves every site by minus one cell along ``d``."""
    out = []
    if lattice.size is None:
        return out
    size = list(lattice.size)
    periodic = [b == "periodic" for b in lattice.boundary]
    if lattice.kind in ("chain", "ladder"):
        L = size[0]
        per_cell = 1 if lattice.kind == "chain" else 2
        if periodic[0]:
            perm = [((i // per_cell - 1) % L) * per_cell + i % per_cell for i in range(L * per_cell)]
            out.append(("T", perm, L))
        return out
    Lx, Ly = size
    nsub = lattice.nsites // (Lx * Ly)
    for d, (name, n) in enumerate((("Tx", Lx), ("Ty", Ly))):
        if not periodic[d]:
            continue
        perm = []
        for i in range(lattice.nsites):
            s = i % nsub
            cell = i // nsub
            x, y = cell % Lx, cell // Lx
            if d == 0:
                x = (x - 1) % Lx
            else:
                y = (y - 1) % Ly
            perm.append(nsub * (x + Lx * y) + s)
        out.append((name, perm, n))
    return out


def lattice_cells(lattice):
    """``(Lx, Ly, sites per cell)`` of a built-in lattice (site index ``nsub (x + Lx y) + s``),
    which lets the kernels translate by shifting bits; None for custom lattices."""
    if lattice.size is None:
        return None
    if lattice.kind in ("chain", "ladder"):
        return (lattice.size[0], 1, lattice.nsites // lattice.size[0])
    Lx, Ly = lattice.size
    return (Lx, Ly, lattice.nsites // (Lx * Ly))


def _rotation(degrees):
    t = np.radians(degrees)
    return np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]])


_MIRROR_Y = np.array([[1.0, 0.0], [0.0, -1.0]])   # y -> -y
_MIRROR_X = np.array([[-1.0, 0.0], [0.0, 1.0]])   # x -> -x

# point groups of the periodic built-in lattices: (name, generators, irreps), the irreps given
# by their characters on the generators (a rotation, then a mirror).  They act about site 0,
# except on the honeycomb and kagome lattices, whose full point group C6v acts about the centre
# of a hexagon (POINT_GROUP_CENTRES; about a site there would only be C3v and C2v)
POINT_GROUPS = {
    "square": ("C4v", (("C4", _rotation(90)), ("mirror", _MIRROR_Y)),
               {"A1": (1, 1), "A2": (1, -1), "B1": (-1, 1), "B2": (-1, -1)}),
    "rectangular": ("C2v", (("mirror_x", _MIRROR_X), ("mirror_y", _MIRROR_Y)),
                    {"A1": (1, 1), "A2": (-1, -1), "B1": (-1, 1), "B2": (1, -1)}),
    "triangular": ("C6v", (("C6", _rotation(60)), ("mirror", _MIRROR_Y)),
                   {"A1": (1, 1), "A2": (1, -1), "B1": (-1, 1), "B2": (-1, -1)}),
    "honeycomb": ("C6v", (("C6", _rotation(60)), ("mirror", _MIRROR_Y)),
                  {"A1": (1, 1), "A2": (1, -1), "B1": (-1, 1), "B2": (-1, -1)}),
    "kagome": ("C6v", (("C6", _rotation(60)), ("mirror", _MIRROR_Y)),
               {"A1": (1, 1), "A2": (1, -1), "B1": (-1, 1), "B2": (-1, -1)}),
}
# a hexagon next to the cell at the origin
POINT_GROUP_CENTRES = {"kagome": (0.75, np.sqrt(3) / 4), "honeycomb": (1.0, np.sqrt(3) / 3)}


def little_group(lattice, momentum=None):
    """``(name, [(generator name, permutation)], irreps)`` of the point-group operations (about
    site 0; honeycomb and kagome: about a hexagon centre) that fix ``momentum`` (integers m_d,
    k = 2 pi m_d / L_d; None: Gamma), or None.

    Named C{n}v (Cs for a single mirror) or C{n}; the irreps of C{n}v are given on the
    generators (rotation by 360/n degrees, mirror): A1 (+1, +1), A2 (+1, -1), and for even n
    B1 (-1, +1), B2 (-1, -1); Cs: A' (+1), A'' (-1); C2: A (+1), B (-1).
    """
    full = point_group(lattice)
    if full is None:
        return None
    key = lattice.kind if not (lattice.kind == "square" and lattice.size[0] != lattice.size[1]) else "rectangular"
    mats = [m for _, m in POINT_GROUPS[key][1]]
    group = [np.eye(2)]
    frontier = [np.eye(2)]
    while frontier:
        nxt = []
        for g in frontier:
            for m in mats:
                h = m @ g
                if not any(np.allclose(h, x) for x in group):
                    group.append(h)
                    nxt.append(h)
        frontier = nxt
    A = np.array(lattice.vectors, dtype=float).T  # columns a1, a2
    f = np.zeros(2) if momentum is None else np.array(momentum, float) / np.array(lattice.size, float)
    little = []
    for g in group:
        ML = np.linalg.inv(A) @ g @ A
        f2 = np.linalg.inv(ML).T @ f
        d = f2 - f
        if np.allclose(d, np.round(d), atol=1e-9):
            little.append(g)
    rotations = [g for g in little if np.linalg.det(g) > 0]
    mirrors = [g for g in little if np.linalg.det(g) < 0]
    n = len(rotations)
    if n == 1 and not mirrors:
        return None
    gens = []
    if n > 1:
        rot = next(g for g in rotations if np.allclose(g, _rotation(360 / n)))
        gens.append((f"C{n}", rot))
    if mirrors:
        gens.append(("mirror", mirrors[0]))
    if mirrors and n > 1:
        name = f"C{n}v"
        irreps = {"A1": (1, 1), "A2": (1, -1)}
        if n % 2 == 0:
            irreps.update({"B1": (-1, 1), "B2": (-1, -1)})
    elif mirrors:
        name, irreps = "Cs", {"A'": (1,), "A''": (-1,)}
    elif n == 2:
        name, irreps = "C2", {"A": (1,), "B": (-1,)}
    else:
        name = f"C{n}"
        irreps = {f"m{j}": (momentum_character(j, n),) for j in range(n)}
    perms = [(g, _site_map(lattice, m, f"{g} of the {name} little group", POINT_GROUP_CENTRES.get(key)))
             for g, m in gens]
    return name, perms, irreps


def point_group(lattice):
    """``(name, [(generator name, permutation)], irreps)`` of a periodic built-in 2D lattice."""
    if lattice.vectors is None or any(b != "periodic" for b in lattice.boundary):
        return None
    key = lattice.kind
    if key == "square" and lattice.size[0] != lattice.size[1]:
        key = "rectangular"
    if key not in POINT_GROUPS:
        return None
    name, gens, irreps = POINT_GROUPS[key]
    perms = [(g, _site_map(lattice, m, f"{g} of the {name} point group", POINT_GROUP_CENTRES.get(key)))
             for g, m in gens]
    return name, perms, irreps


def _site_map(lattice, matrix, what, centre=None):
    """Permutation of the sites under the linear map ``matrix`` about ``centre`` (default:
    site 0), on the torus."""
    a1, a2 = (np.array(v) for v in lattice.vectors)
    Lx, Ly = lattice.size
    torus = np.array([Lx * a1, Ly * a2]).T  # columns: the periods
    inv = np.linalg.inv(torus)
    pos = lattice.coords - (lattice.coords[0] if centre is None else np.array(centre))
    frac = (inv @ pos.T).T % 1.0
    key = lambda f: tuple(np.round(f % 1.0 * 1e6).astype(np.int64) % 1000000)
    where = {key(f): i for i, f in enumerate(frac)}
    image = (inv @ (matrix @ pos.T)).T
    perm = []
    for i, f in enumerate(image):
        j = where.get(key(f))
        if j is None:
            raise SectorError(f"the {lattice.kind} cluster of size {list(lattice.size)} is not symmetric under "
                              f"{what}: site {i} has no image; use another cluster shape or no point group")
        perm.append(j)
    if sorted(perm) != list(range(lattice.nsites)):
        raise SectorError(f"{what} does not map the {lattice.kind} cluster onto itself")
    return perm


def chain_reflection(lattice):
    """Site ``i -> -i mod L`` of a periodic chain (``L - 1 - i`` of an open one)."""
    L = lattice.nsites
    periodic = lattice.boundary[0] == "periodic"
    return [(-i) % L if periodic else L - 1 - i for i in range(L)]


def momentum_character(m, length):
    """``exp(2 pi i m / length)`` with exact +-1 and +-i."""
    m = int(m) % length
    if (4 * m) % length == 0:
        return [1, 1j, -1, -1j][(4 * m) // length]
    return complex(np.exp(2j * np.pi * m / length))


# --- invariance of H ---------------------------------------------------------------------------
_FLIP_KIND = {"S+": ("S-", 1.0), "S-": ("S+", 1.0), "Sz": ("Sz", -1.0)}


def transformed(op, permutation, spin_flip=False, eta=None):
    """``g op g^-1`` for the site permutation (``None``: identity), optional spin flip and,
    with ``eta``, particle-hole ``c_i -> eta_i c+_i`` applied after the permutation."""
    from .ops import Operator
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


def check_invariance(H, generators):
    """Raise :class:`SectorError` naming a term if ``H`` does not commute with a generator."""
    from .ops import format_term, normal_ordered
    reference = normal_ordered(H)
    for g in generators:
        diff = normal_ordered(transformed(H, g.permutation, g.spin_flip, g.eta if g.particle_hole else None)) - reference
        diff = normal_ordered(diff)
        if diff.is_zero(1e-10):
            continue
        factors, coef = max(diff.terms.items(), key=lambda kv: abs(kv[1]))
        have = reference.terms.get(factors, 0)
        term = " ".join(format_term(factors).split()[1:])
        raise SectorError(
            f"the Hamiltonian is not invariant under the symmetry '{g.name}': after the transformation "
            f"the term {term} has the coefficient {_fmt(have + coef)}, in H it has {_fmt(have)}; "
            "drop the symmetry from [sector] or make the couplings symmetric")


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
    from .space import CHARGE_SCALE
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


# --- [sector] keys for symmetries -------------------------------------------------------------
SYMMETRY_KEYS = ("momentum", "reflection", "point_group", "spin_flip", "particle_hole", "symmetry")


def sector_choices(t, lattice, space):
    """Every combination of symmetry labels that ``[sector]`` asks for, as lists of
    generators.  A key set to ``"all"`` (or a momentum entry ``"all"``) contributes all its
    values; the result has one list when nothing is ``"all"``.  Not collective."""
    options = []  # per key: list of alternatives, each a list of generators

    def many(key, kind, values):
        raw = t.data.get(key)
        if raw == "all":
            t.used.add(key)
            return list(values)
        return [t.get(key, kind, choices=tuple(values))]

    momenta = [None]  # alternatives: (generators, momentum integers)
    if "momentum" in t:
        trans = translation_generators(lattice)
        if not trans:
            raise ConfigError(t.key("momentum"), message=f"{t.key('momentum')}: this lattice has no periodic "
                              "direction, so no momentum", hint="use boundary = \"periodic\" or a "
                              "[[sector.symmetry]] with an explicit permutation")
        raw = t.data["momentum"]
        t.used.add("momentum")
        value = ["all"] * len(trans) if raw == "all" else raw if isinstance(raw, list) else [raw]
        if len(value) != len(trans) or any(isinstance(m, bool) or not (isinstance(m, int) or m == "all")
                                           for m in value):
            raise ConfigError(t.key("momentum"), f"a list of {len(trans)} integer(s) m (k = 2 pi m / L), one "
                              f"per periodic direction ({', '.join(n for n, _, _ in trans)}), or \"all\"", raw)
        import itertools
        ranges = [range(n) if m == "all" else [m % n] for (_, _, n), m in zip(trans, value)]
        momenta = [([Generator(name, tuple(perm), False, momentum_character(x, n), x)
                     for (name, perm, n), x in zip(trans, ms)], list(ms)) for ms in itertools.product(*ranges)]
    if "reflection" in t:
        if lattice.kind != "chain":
            raise ConfigError(t.key("reflection"), message=f"{t.key('reflection')}: built-in reflections exist "
                              f"for chains only so far, not for {lattice.kind}", hint="use point_group on 2D "
                              "lattices, or give the mirror as a [[sector.symmetry]] permutation")
        perm = tuple(chain_reflection(lattice))
        options.append([[Generator("reflection", perm, False, p, p)] for p in many("reflection", "int", (1, -1))])
    point = None
    if "point_group" in t:
        if point_group(lattice) is None:
            raise ConfigError(t.key("point_group"), message=f"{t.key('point_group')}: no built-in point group for "
                              f"a {lattice.kind} lattice with {'/'.join(lattice.boundary or ['custom'])} boundaries",
                              hint="give its generators as [[sector.symmetry]] permutations")
        point = t.data["point_group"]
        t.used.add("point_group")
        if point != "all" and not isinstance(point, str):
            raise ConfigError(t.key("point_group"), "an irrep name such as \"A1\", or \"all\"", point)
    if "spin_flip" in t:
        options.append([[Generator("spin_flip", None, True, f, f)] for f in many("spin_flip", "int", (1, -1))])
    if "particle_hole" in t:
        eta = bipartition_signs(lattice)
        options.append([[Generator("particle_hole", None, False, c, c, particle_hole=True, eta=eta)]
                        for c in many("particle_hole", "int", (1, -1))])
    for k, entry in enumerate(t.get("symmetry", "list", [])):
        e = t.__class__(entry, f"[[sector.symmetry]] #{k + 1}")
        perm = e.get("permutation", "list")
        if any(isinstance(x, bool) or not isinstance(x, int) for x in perm) or \
                len(perm) != lattice.nsites or sorted(perm) != list(range(lattice.nsites)):
            raise ConfigError(e.key("permutation"), f"a permutation of the sites 0..{lattice.nsites - 1} "
                              "(entry i = image of site i)", perm)
        flip = e.get("spin_flip", "bool", False)
        order = _order(tuple(perm), flip)
        name = e.get("name", "str", f"symmetry{k + 1}")
        ms = range(order) if e.data.get("sector") == "all" else [e.get("sector", "int", 0) % order]
        e.used.add("sector")
        e.finish()
        perm = tuple(int(x) for x in perm)
        options.append([[Generator(name, perm, flip, momentum_character(m, order), m)] for m in ms])
    choices = []
    for mom in momenta:
        gens0, ms = mom if mom is not None else ([], None)
        alternatives = [gens0]
        if point is not None:
            little = little_group(lattice, ms)
            if little is None:
                if point != "all":
                    raise SectorError(f"{t.key('point_group')}: no point-group operation fixes the momentum {ms}")
            else:
                name, perms, irreps = little
                if point != "all" and point not in irreps:
                    raise ConfigError(t.key("point_group"), f"an irrep of the little group {name} at momentum "
                                      f"{ms if ms is not None else 'Gamma'}: one of {', '.join(map(repr, irreps))}",
                                      point, hint=did_you_mean(point, list(irreps)))
                names = list(irreps) if point == "all" else [point]
                alternatives = [gens0 + [Generator(gname, tuple(perm), False, chi, chi, irrep=(name, irrep))
                                         for (gname, perm), chi in zip(perms, irreps[irrep])] for irrep in names]
        choices.extend(alternatives)
    for alternatives in options:
        choices = [c + alt for c in choices for alt in alternatives]
    return choices


def bipartition_signs(lattice):
    """eta_i = +-1 on the two sublattices of the nearest-neighbour bonds (all +1 if the bonds do
    not form a bipartite graph): with it particle-hole leaves nearest-neighbour hopping alone."""
    adj = [[] for _ in range(lattice.nsites)]
    for i, j, _ in lattice.bonds.get("nn", []):
        adj[i].append(j)
        adj[j].append(i)
    color = [0] * lattice.nsites
    for start in range(lattice.nsites):
        if color[start]:
            continue
        color[start] = 1
        stack = [start]
        while stack:
            i = stack.pop()
            for j in adj[i]:
                if color[j] == 0:
                    color[j] = -color[i]
                    stack.append(j)
                elif color[j] == color[i]:
                    return tuple([1] * lattice.nsites)
    return tuple(color)


def sector_values(generators):
    """``{name: value}`` of the symmetry labels for results files (characters as [re, im])."""
    out = {}
    for g in generators:
        if g.irrep is not None:
            out["point_group"] = g.irrep[1]
            out["point_group_name"] = g.irrep[0]
            continue
        c = complex(g.character)
        out[g.name] = g.value if g.value is not None else (c.real if abs(c.imag) < 1e-12 else [c.real, c.imag])
    return out
