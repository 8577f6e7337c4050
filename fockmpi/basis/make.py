"""The basis a sector asks for: ranked U(1) states, or a sorted list of allowed states (symmetry
representatives, parities, constraints, Gauss's law)."""
from .symmetric import SymmetricBasis
from .u1 import U1Basis


def make_basis(sector, group, comm, show_progress=False, gauss=None, constraint=None, orbitals=None, stored=None):
    """The basis of ``sector`` (charges and parities) and ``group`` (a SymmetryGroup or None).
    Collective on ``comm``.

    Without group and parities: :class:`U1Basis` (states ranked, nothing stored but this rank's
    block).  Otherwise :class:`SymmetricBasis`: the orbit representatives of the group (the
    trivial group without one) that satisfy the parities, sorted across ranks.  With ``gauss``
    (a :class:`~fockmpi.models.gauge.GaussLaw`): :class:`~fockmpi.basis.gauss.GaussLawBasis`,
    the physical states enumerated from the matter configurations.  ``constraint`` (a vectorized
    predicate on packed states, such as a Rydberg blockade) keeps only the states it allows.
    With ``orbitals`` (an FCIDUMP model's :class:`~fockmpi.models.chemistry.Orbitals`) and a sector
    of fixed N_up and N_dn without symmetries: :class:`~fockmpi.basis.determinants.DeterminantBasis`
    (alpha-major, split by alpha strings, for the direct-CI operator; its orbital irrep replaces
    ``constraint``).  ``stored``: ``(states, norms)``, this rank's block of a symmetric basis
    saved before (a checkpoint's): the representatives are taken as they are, not searched.
    """
    if orbitals is not None and determinants_apply(sector, group):
        from .determinants import DeterminantBasis
        return DeterminantBasis(sector, comm, orbitals.orbsym, orbitals.irrep)
    if gauss is not None:
        from ..errors import SectorError
        if group is not None or sector.parities:
            raise SectorError("a Gauss-law basis takes no symmetry sectors or parities (yet): fix the fermion "
                              "number N only")
        from .gauss import GaussLawBasis
        return GaussLawBasis(sector, gauss, comm, show_progress)
    parity = _both(sector.parity_filter(), constraint)
    if group is None and parity is None:
        return U1Basis(sector, comm.rank, comm.size)
    if group is None:
        from ..symmetry.group import SymmetryGroup
        group = SymmetryGroup(sector.space.nsites, [], None, sector.space)
    if stored is not None:
        return SymmetricBasis.from_states(sector, group, comm, *stored, constraint=parity,
                                          constraint_name=getattr(parity, "__name__", None))
    return SymmetricBasis(sector, group, comm, show_progress, constraint=parity,
                          constraint_name=getattr(parity, "__name__", None))


def _both(a, b):
    """The conjunction of two optional predicates (named after both)."""
    if a is None or b is None:
        return a if b is None else b

    def both(states):
        return a(states) & b(states)

    both.__name__ = f"{a.__name__},{b.__name__}"
    return both


def determinants_apply(sector, group):
    """Whether a sector of an FCIDUMP model gets the determinant basis: N_up and N_dn fixed, no
    symmetry group, no parities."""
    return group is None and not sector.parities and {"N_up", "N_dn"} <= set(sector.internal)
