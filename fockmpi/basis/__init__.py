"""Bases of the Fock space split over MPI ranks, all of one protocol (protocol.Basis): U(1) sectors
(sector, ranking, u1), the distributed sorted list of states (distributed), symmetry
representatives (symmetric), predicate-constrained bases (constrained), and make_basis, which picks one."""
from .constrained import constrained_basis
from .make import make_basis
from .protocol import Basis
from .sector import Sector
from .symmetric import SymmetricBasis
from .u1 import U1Basis

__all__ = ["Basis", "Sector", "SymmetricBasis", "U1Basis", "constrained_basis", "make_basis"]
