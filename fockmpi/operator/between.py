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


def _check_covariance(op, left, right):
    if [e for e in left.group.elements] != [e for e in right.group.elements]:
        raise SectorError("the two symmetric bases have different symmetry groups: use the same symmetries "
                          "(with any characters) on both sides")
    from ..symmetry.invariance import transformed
    from ..models.matrix_units import matrix_units
    reference, _ = matrix_units(op, right.space)
    if not reference or max(abs(v) for v in reference.values()) < 1e-14:
        return
    key, coef = max(reference.items(), key=lambda kv: abs(kv[1]))
    scale = abs(coef)
    index = {e: k for k, e in enumerate(right.group.elements)}
    for g in right.group.generators:
        if g.particle_hole:
            raise SectorError("operators between sectors with a particle-hole symmetry are not supported")
        image, _ = matrix_units(transformed(op, g.permutation, g.spin_flip), right.space)
        mu = image.get(key, 0) / coef
        if abs(abs(mu) - 1) > 1e-9 or any(abs(image.get(k, 0) - mu * reference.get(k, 0)) > 1e-10 * scale
                                          for k in set(image) | set(reference)):
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


def _fmt(z):
    z = complex(z)
    if abs(z.imag) < 1e-12:
        return f"{z.real:.6g}"
    return f"{z.real:.6g}{z.imag:+.6g}i"
