"""The basis protocol every basis implements: this rank's states, offsets, owners, a collective index_of, a fingerprint."""
import numpy as np


class Basis:
    """What every basis of fockmpi offers (U(1) ranked, symmetric representatives, constrained;
    the product and Gauss-law bases still to come implement the same).

    The global basis is an ordered list of ``dim`` states; rank p holds the contiguous block
    ``offsets[p] .. offsets[p+1]``, row ``i`` of every distributed matrix and vector.

    Attributes
    ----------
    dim : int                 global dimension
    offsets : ndarray         block boundaries (length ranks + 1)
    start, end : int          this rank's block
    states : ndarray uint64   this rank's states, in the basis' own order and bit layout
    norms : ndarray or None   per state: the stabilizer order of a representative (the basis
                              vector is ``P|state>`` normalized); None when every basis vector
                              is the Fock state itself
    """

    norms = None
    cuts_anywhere = False  # whether :meth:`repartition` may move the cuts between ranks anywhere
    cuts_settled = False   # set when fockmpi.operator.balance first looks at the basis (the first
                           # operator built on it): vectors live on these cuts, nothing moves them

    @property
    def local_size(self):
        return self.end - self.start

    def owner_of(self, indices):
        """Rank owning each global index.  Not collective."""
        return np.searchsorted(self.offsets, np.asarray(indices), side="right") - 1

    def packed_states(self):
        """This rank's states in the packed layout of :mod:`fockmpi.models.space` (what results
        files store).  Not collective."""
        return self.states

    def repartition(self, offsets, comm):
        """Cut the basis between ranks at ``offsets`` instead (same states, same order; rank p
        then holds ``offsets[p] .. offsets[p+1]``), for bases with ``cuts_anywhere``.
        Collective."""
        raise NotImplementedError

    def index_of(self, states, comm=None):
        """Global index of each state (-1: not in this basis).  Collective on ``comm`` for
        bases whose states are spread over ranks (every rank calls it, with its own states)."""
        raise NotImplementedError

    def fingerprint(self):
        """A hex digest of what defines the basis (space, charges, symmetry sector, constraint,
        dimension): equal fingerprints mean the same basis in the same order, whatever the
        number of ranks (for checkpoints).  Not collective."""
        import hashlib
        h = hashlib.sha256()
        for part in self._defining():
            h.update(repr(part).encode())
            h.update(b"\x00")
        return h.hexdigest()[:32]

    def _defining(self):
        space = self.sector.space
        return [type(self).__name__, [x.key() for x in space.sites], sorted(self.sector.internal.items()),
                int(self.dim)]
