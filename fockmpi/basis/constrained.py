"""Bases restricted by a predicate on states (local constraints): a few lines on the distributed sorted list."""
from .symmetric import SymmetricBasis


def constrained_basis(sector, constraint, comm, name=None, show_progress=False):
    """The states of a U(1) sector for which ``constraint`` is true, split across ranks.
    Collective on ``comm``.

    ``constraint`` takes an array of packed states (uint64, :mod:`fockmpi.models.space`) and returns
    a boolean array; it is applied to each rank's block of the sector in chunks, so it must be
    vectorized (numpy or a numba ufunc), never a loop over states.  ``name`` says what it is
    (for labels and the fingerprint).  An operator assembled on this basis is ``P H P``: terms
    that would leave the constrained subspace are dropped, as in the PXP model of Rydberg
    atoms.  A :class:`SymmetricBasis` with the trivial group underneath.
    """
    from ..symmetry.group import SymmetryGroup
    group = SymmetryGroup(sector.space.nsites, [], None, sector.space)
    return SymmetricBasis(sector, group, comm, show_progress, constraint=constraint, constraint_name=name)
