"""The basis a sector asks for: ranked U(1) states, or a sorted list of the states that pass a symmetry group and the sector's parities."""
from .symmetric import SymmetricBasis
from .u1 import U1Basis


def make_basis(sector, group, comm, show_progress=False):
    """The basis of ``sector`` (charges and parities) and ``group`` (a SymmetryGroup or None).
    Collective on ``comm``.

    Without group and parities: :class:`U1Basis` (states ranked, nothing stored but this rank's
    block).  Otherwise :class:`SymmetricBasis`: the orbit representatives of the group (the
    trivial group without one) that satisfy the parities, sorted across ranks.
    """
    parity = sector.parity_filter()
    if group is None and parity is None:
        return U1Basis(sector, comm.rank, comm.size)
    if group is None:
        from ..symmetry.group import SymmetryGroup
        group = SymmetryGroup(sector.space.nsites, [], None, sector.space)
    return SymmetricBasis(sector, group, comm, show_progress, constraint=parity,
                          constraint_name=getattr(parity, "__name__", None))
