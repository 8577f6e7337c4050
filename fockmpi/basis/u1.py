"""U(1) bases: the sector's states in rank order (:mod:`fockmpi.basis.ranking`), one contiguous block per MPI rank."""
import numpy as np

from ..errors import SectorError
from ..parallel import block_offsets
from .protocol import Basis
from .ranking import RankingTables


class U1Basis(Basis):
    """The basis of a U(1) sector, each rank holding its contiguous block of states.

    Parameters
    ----------
    sector : Sector
    rank, size : int
        This process's rank and the number of ranks the basis is split over (from a
        communicator: ``comm.rank, comm.size``).  Not collective: no messages are needed.

    Attributes
    ----------
    dim : int          global dimension
    offsets : ndarray  block boundaries, rank p owns ``[offsets[p], offsets[p+1])``
    start, end : int   this rank's block
    states : ndarray   this rank's states (uint64, packed; ascending, on electron lattices ascending
                       in the species-major sort layout: :mod:`fockmpi.basis.ranking`)
    """

    cuts_anywhere = True

    def __init__(self, sector, rank=0, size=1):
        self.sector = sector
        self.space = sector.space
        self.tables = RankingTables(sector)
        self.dim = self.tables.dim
        if self.dim == 0:
            raise SectorError(f"the sector {sector.label()} is empty for this lattice")
        self.rank, self.size = rank, size
        self.offsets = block_offsets(self.dim, size)
        self.start, self.end = int(self.offsets[rank]), int(self.offsets[rank + 1])
        self.states = self.tables.states(self.start, self.end - self.start)

    def repartition(self, offsets, comm=None):
        """Hold ``offsets[rank] .. offsets[rank+1]`` instead (no messages: the states are
        unranked from the tables).  Not collective."""
        self.offsets = np.asarray(offsets, dtype=np.int64)
        self.start, self.end = int(self.offsets[self.rank]), int(self.offsets[self.rank + 1])
        self.states = self.tables.states(self.start, self.end - self.start)

    def index_of(self, states, comm=None):
        """Global index of each state (-1 if not in the sector).  Not collective: any rank
        ranks any state from its own tables (``comm`` is accepted for the protocol)."""
        return self.tables.rank(states)

    def lookup_args(self):
        """Arguments of the kernel ranking used during assembly."""
        return self.tables.args()
