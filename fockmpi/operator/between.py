"""Operators between two sectors: ``A`` maps the right basis into the left one (``c^dag_{k,up}``
from N to N+1 electrons and momentum k to k+q, ``S^+_q`` from Sz to Sz+1, ``b_q``...).  The
distributed matrix ``M[l, r] = <l|A|r>`` has the left basis' states as rows and the right
basis' as columns; it is built by the one row kernel from the compiled adjoint ``A^dag``
(:func:`fockmpi.operator.assemble.assemble_rows`), and need not be hermitian or square.

Before anything is built, the sectors are checked against the operator: every term must change
each fixed charge by the same amount, the amount the two sectors differ by; with lattice
symmetries the operator must transform as ``U_g A U_g^-1 = mu_g A`` under every generator, and
the characters must agree: ``chi_left(g) = mu_g chi_right(g)`` (``c^dag_q`` of momentum q moves
k to k + q).  A mismatch is an error naming the charge or the symmetry, not a zero matrix.
"""
import numpy as np

from ..basis.u1 import U1Basis
from ..errors import SectorError
from ..models.ops import format_term
from .compile import compile_operator


def operator_between(op, left, right, comm, PETSc, show_progress=False):
    """The matrix of ``op`` from ``right`` to ``left`` as a PETSc MPIAIJ.  Collective on ``comm``.

    Parameters
    ----------
    op : Operator
    left, right : Basis
        Both :class:`~fockmpi.basis.U1Basis`, or both enumerated (symmetric) bases of one
        symmetry group, on one space.
    comm, PETSc : the communicator and the initialized petsc4py module (complex where ``op``
        or a sector's characters are complex)

    Returns
    -------
    DistributedOperator (``.mat`` of global size ``left.dim x right.dim``, not marked hermitian)
    """
    from .assemble import assemble_rows
    check_sectors(op, left, right)
    adjoint = compile_operator(op.hc(), left.space, check_hermitian=False)
    return assemble_rows(adjoint, left, right, comm, PETSc, square=False, show_progress=show_progress)


def check_sectors(op, left, right):
    """Raise :class:`SectorError` unless ``op`` maps the sector of ``right`` into that of ``left``.
    Not collective (every rank reaches the same verdict)."""
    if left.space.kinds != right.space.kinds:
        raise SectorError("the two bases live on different spaces (sites of other kinds)")
    if isinstance(left, U1Basis) != isinstance(right, U1Basis):
        raise SectorError("an operator between a U(1) basis and a symmetric one: use the same kind of basis "
                          "on both sides (both with the lattice symmetries, or neither)")
    names = sorted(set(left.sector.internal) | set(right.sector.internal))
    if sorted(left.sector.internal) != sorted(right.sector.internal):
        raise SectorError(f"the two sectors fix different charges ({left.sector.label()} against "
                          f"{right.sector.label()}): fix the same ones on both sides")
    change = charge_change(op, left.space, names)
    for name in names:
        differ = left.sector.internal[name] - right.sector.internal[name]
        if differ != change[name]:
            from ..models.space import CHARGE_SCALE
            scale = CHARGE_SCALE.get(name, 1)
            raise SectorError(f"the operator changes {name} by {change[name] / scale:+g}, but the sectors "
                              f"differ by {differ / scale:+g} ({right.sector.label()} -> {left.sector.label()}); "
                              "choose the left sector as the right one plus the operator's change")
    if not isinstance(left, U1Basis):
        _check_covariance(op, left, right)


def charge_change(op, space, names):
    """``{name: change}`` of every charge ``name`` under ``op`` (internal units), which every
    term must share; raise :class:`SectorError` naming a term that changes a charge by another
    amount or by no definite amount."""
    tables = {name: space.charge_table(name) for name in names}
    change = {}
    for factors, coef in op.terms.items():
        text = format_term(factors, coef)
        for name, table in tables.items():
            delta = 0
            for kind, site, flavor in factors:
                m = space.sites[site].factor_matrix(kind, flavor)
                ts, vs = np.nonzero(m)
                steps = set((table[site, ts] - table[site, vs]).tolist())
                if len(steps) > 1:
                    raise SectorError(f"term {text!r} changes {name} by no definite amount, so it maps no "
                                      "sector into one other sector")
                delta += steps.pop() if steps else 0
            if change.setdefault(name, delta) != delta:
                raise SectorError(f"term {text!r} changes {name} by another amount than the operator's other "
                                  "terms: split the operator into parts of one change each")
    return {name: change.get(name, 0) for name in names}


def operator_phase(op, generator, space):
    """``mu`` with ``U_g op U_g^-1 = mu op`` under the generator ``generator`` (a
    :class:`~fockmpi.symmetry.group.Generator`), or None where the image is no multiple of
    ``op`` (a reflection of a momentum-q Fourier sum with q != 0, pi; spin flip of S^+).  1 for
    an operator of no terms.  Not collective."""
    from ..symmetry.invariance import transformed
    from ..models.matrix_units import matrix_units
    if generator.particle_hole:
        return None
    reference, _ = matrix_units(op, space)
    if not reference or max(abs(v) for v in reference.values()) < 1e-14:
        return 1.0
    key, coef = max(reference.items(), key=lambda kv: abs(kv[1]))
    scale = abs(coef)
    image, _ = matrix_units(transformed(op, generator.permutation, generator.spin_flip), space)
    mu = image.get(key, 0) / coef
    if abs(abs(mu) - 1) > 1e-9 or any(abs(image.get(k, 0) - mu * reference.get(k, 0)) > 1e-10 * scale
                                      for k in set(image) | set(reference)):
        return None
    return complex(mu)


def _check_covariance(op, left, right):
    if [e for e in left.group.elements] != [e for e in right.group.elements]:
        raise SectorError("the two symmetric bases have different symmetry groups: use the same symmetries "
                          "(with any characters) on both sides")
    index = {e: k for k, e in enumerate(right.group.elements)}
    for g in right.group.generators:
        if g.particle_hole:
            raise SectorError("operators between sectors with a particle-hole symmetry are not supported")
        mu = operator_phase(op, g, right.space)
        if mu is None:
            raise SectorError(f"the operator does not transform into a multiple of itself under the symmetry "
                              f"'{g.name}', so it connects no two of its sectors: drop the symmetry, or build "
                              "the operator with the right phases (e.g. a momentum-q Fourier sum)")
        perm = tuple(range(left.space.nsites)) if g.permutation is None else tuple(int(p) for p in g.permutation)
        k = index[(perm, bool(g.spin_flip), False)]
        chi_l, chi_r = complex(left.group.characters[k]), complex(right.group.characters[k])
        if abs(chi_l - mu * chi_r) > 1e-9:
            raise SectorError(f"under '{g.name}' the operator picks up the phase {_fmt(mu)}, so it maps the "
                              f"right sector (character {_fmt(chi_r)}) to the character {_fmt(mu * chi_r)}, "
                              f"but the left sector has {_fmt(chi_l)}")


def covariant_groups(op, group, space, sector, target_sector):
    """``(source, target)``: the symmetry groups in which ``op`` maps a state of ``group``'s
    sector to one sector.  ``source`` is generated by the generators of ``group`` under which
    ``op`` picks up a phase mu_g and which keep both U(1) sectors (with their characters, so a
    vector of ``group``'s sector lies in ``source``'s sector: :func:`embedding`), ``target`` by
    the same generators with the characters ``mu_g chi(g)`` (a momentum-q operator moves
    ``momentum = m`` to ``m + q``).  ``(None, None)`` where no generator is kept.  Not
    collective."""
    import dataclasses
    from ..symmetry.group import SymmetryGroup, element_order
    from ..symmetry.invariance import check_sector_preserved
    if group is None:
        return None, None
    kept, moved = [], []
    for g in group.generators:
        mu = operator_phase(op, g, space)
        if mu is None:
            continue
        try:
            check_sector_preserved(sector, [g])
            check_sector_preserved(target_sector, [g])
        except SectorError:
            continue
        chi = complex(g.character) * mu
        if abs(chi.imag) < 1e-12:
            chi = complex(chi.real, 0.0)
        if g.irrep is not None and abs(mu - 1) < 1e-9:
            value, irrep = g.value, g.irrep
        elif g.value is not None and not isinstance(g.value, bool) and complex(g.value) == complex(g.character):
            value, irrep = int(round(chi.real)), None  # a parity (+-1)
        elif g.value is not None and g.irrep is None:
            perm = tuple(range(space.nsites)) if g.permutation is None else tuple(int(p) for p in g.permutation)
            n = element_order(perm, g.spin_flip)  # a momentum-like label m: chi = exp(2 pi i m / n)
            value, irrep = int(round(np.angle(chi) * n / (2 * np.pi))) % n, None
        else:
            value, irrep = None, None
        kept.append(g)
        moved.append(dataclasses.replace(g, character=chi, value=value, irrep=irrep))
    if not kept:
        return None, None
    return (SymmetryGroup(group.nsites, kept, group.cells, space),
            SymmetryGroup(group.nsites, moved, group.cells, space))


def embedding(left, right, comm, PETSc):
    """The matrix ``E[l, r] = <l~|r~>`` that writes a vector of the symmetric basis ``right``
    (group G) in the basis ``left`` of a subgroup K of G, in the sector of K whose characters
    are G's restricted to K (one entry per row).  Collective.

    With |r~> = sum_g chi(g)* g|r> / sqrt(|G| N_r) (docs/conventions.md): <r~_G|l~_K> =
    sign chi(e)* sqrt(|K| N_r / (|G| N_l)) for the element e that maps l to sign * r, the row
    kernel's value for the identity times sqrt(|K| / |G|).
    """
    from .assemble import assemble_rows
    from ..models.ops import Operator
    elements = set(right.group.elements)
    if not set(left.group.elements) <= elements:
        raise SectorError("the left basis' group is no subgroup of the right one's")
    index = {e: k for k, e in enumerate(right.group.elements)}
    for k, e in enumerate(left.group.elements):
        if abs(complex(left.group.characters[k]) - complex(right.group.characters[index[e]])) > 1e-9:
            raise SectorError("the left sector's characters are not the right one's restricted to its group")
    identity = compile_operator(Operator({(): 1.0}), left.space, check_hermitian=False)
    built = assemble_rows(identity, left, right, comm, PETSc, square=False, show_progress=False)
    built.mat.scale(np.sqrt(left.group.order / right.group.order))
    return built


def _fmt(z):
    z = complex(z)
    if abs(z.imag) < 1e-12:
        return f"{z.real:.6g}"
    return f"{z.real:.6g}{z.imag:+.6g}i"
