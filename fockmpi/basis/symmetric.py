"""Bases of symmetry sectors: orbit representatives and their norms, sorted across ranks."""
import numpy as np

from .. import kernels
from ..errors import SectorError
from ..parallel import block_offsets
from .distributed import _packed, _rebalance, _sample_sort, hash_table
from .protocol import Basis
from .ranking import RankingTables


CHAIN_WINDOW_BITS = 16  # the top bits a chain's orbit scan sorts its U(1) ranges by (65536 windows)


def candidate_ranges(tables, group_args):
    """The ranges ``(first, end)`` of U(1) indices that can hold representatives, ascending.

    The states are numbered in ascending order, so the states whose top bits (a window ``w``)
    are equal form one range.  A representative is the smallest state of its orbit, so no
    translation may lower its window:

    * on a lattice with rows of translations (``rowmin``: the smallest x-rotation of the top
      rows), ``rowmin[w] == w``; that is the first test the orbit scan
      (:func:`fockmpi.kernels.find_representatives`) makes anyway;
    * on a chain with all its translations (one row of cells), a translation by ``j`` cells
      towards the top brings the window's lower bits to the top: they may not be below the
      window's top bits of the same length.

    The other windows (5/6 of the states on a 6x6 lattice, 87% on a 36-site ring) are skipped
    whole; the basis is the same.  Everything is a candidate where the states are sorted in
    another layout than they are numbered in, or without such translations.  (Electrons: both
    in the species-major sort layout, the window holds the top up modes.)
    """
    args = group_args
    nbits = int(args.full).bit_length()
    if len(args.layout) != len(tables.layout):
        return [(0, tables.dim)]
    if args.rowmin.shape[0] > 1:
        windows = np.arange(len(args.rowmin), dtype=np.uint64)
        minimal = args.rowmin == windows
        shift = int(args.top)
    elif args.cellmask and int(args.nx) * int(args.tshift[1, 0]) == nbits:
        width, cell = min(CHAIN_WINDOW_BITS, nbits), int(args.tshift[1, 0])
        windows = np.arange(1 << width, dtype=np.uint64)
        minimal = np.ones(len(windows), dtype=bool)
        for j in range(1, -(-width // cell)):
            rest = np.uint64(width - j * cell)  # bits of the window that stay in it
            minimal &= (windows & ((np.uint64(1) << rest) - np.uint64(1))) >= (windows >> np.uint64(j * cell))
        shift = nbits - width
    else:
        return [(0, tables.dim)]
    # runs of consecutive minimal windows: windows first .. end-1
    edges = np.flatnonzero(np.diff(np.concatenate([[False], minimal, [False]]).astype(np.int8)))
    first, end = edges[0::2], edges[1::2]
    starts = tables.first_at_or_above(first.astype(np.uint64) << np.uint64(shift))
    stops = np.where(end >= len(minimal), tables.dim,
                     tables.first_at_or_above(np.minimum(end, len(minimal) - 1).astype(np.uint64) << np.uint64(shift)))
    return [(int(a), int(b)) for a, b in zip(starts, stops) if b > a]


def _share(ranges, rank, size):
    """Rank ``rank``'s part of ``ranges``: an equal share of their total length, in order."""
    total = sum(b - a for a, b in ranges)
    offsets = block_offsets(total, size)
    lo, hi = int(offsets[rank]), int(offsets[rank + 1])
    mine, seen = [], 0
    for a, b in ranges:
        x, y = max(a, a + lo - seen), min(b, a + hi - seen)
        if y > x:
            mine.append((x, y))
        seen += b - a
    return mine


class SymmetricBasis(Basis):
    """Representatives of a lattice-symmetry sector inside a U(1) sector, split across ranks.

    Collective on ``comm``.  Every rank scans only its own block of the U(1) sector (unranked
    in chunks, never stored whole) and keeps the states that are the smallest of their orbit
    and survive the irrep (:func:`fockmpi.kernels.find_representatives`).  The
    representatives are then moved (one all-to-all) so that every rank holds a balanced
    contiguous block of the globally ascending list; the global index of a representative
    is its position in that list.

    ``constraint`` (optional) keeps only the states for which it is true: a vectorized
    function of an array of packed states (uint64) returning a boolean array, e.g. "no two
    neighbouring spins up".  The basis then spans the constrained subspace, and an operator
    assembled on it is ``P H P`` with ``P`` the projector onto that subspace.  With a symmetry
    group the constraint must hold on whole orbits (checked on the representatives' images);
    see :func:`constrained_basis` for the constraint alone.

    Attributes
    ----------
    dim : int                  number of representatives (the sector's dimension)
    states, norms : ndarray    this rank's representatives, ascending in the sort layout of
                               the group (:meth:`packed_states` gives them packed as in
                               :mod:`fockmpi.models.space`), and their stabilizer orders
    start, end : int           this rank's block of global indices
    u1_dim : int               dimension of the U(1) sector
    """

    SCAN_CHUNK = 1 << 18
    cuts_anywhere = True

    def __init__(self, sector, group, comm, show_progress=False, constraint=None, constraint_name=None):
        self.sector = sector
        self.space = sector.space
        self.group = group
        self.constraint = constraint
        self.constraint_name = constraint_name or getattr(constraint, "__name__", None)
        tables = RankingTables(sector)
        self.u1_dim = tables.dim
        if self.u1_dim == 0:
            raise SectorError(f"the sector {sector.label()} is empty for this lattice")
        self.group_args = group.kernel_args(self.space)
        layout = self.group_args.layout
        ranges = _share(candidate_ranges(tables, self.group_args), comm.rank, comm.size)
        from ..parallel import Progress
        progress = Progress(comm, "basis (orbit scan)", sum(hi - lo for lo, hi in ranges), enabled=show_progress)
        reps, norms = [], []
        done = 0
        for lo, hi, a in ((lo, hi, a) for lo, hi in ranges for a in range(lo, hi, self.SCAN_CHUNK)):
            st = tables.states(a, min(self.SCAN_CHUNK, hi - a))
            if len(layout):
                kernels.relayout(st, layout, 0, st)
            keep = np.empty(len(st), dtype=np.bool_)
            nr = np.empty(len(st), dtype=np.float64)
            kernels.find_representatives(st, *self.group_args, keep, nr)
            if constraint is not None:
                keep &= self._allowed(st if not len(layout) else _packed(st, layout))
            reps.append(st[keep])
            norms.append(nr[keep])
            done += len(st)
            progress.update(done)
        reps = np.concatenate(reps) if reps else np.zeros(0, dtype=np.uint64)
        norms = np.concatenate(norms) if norms else np.zeros(0)
        self._distribute(comm, reps, norms, sort=bool(len(layout)),
                         empty=f"the sector {sector.label()}, {group.label()} is empty (no state of this "
                               "U(1) sector has that symmetry)")
        if constraint is not None and group.order > 1:
            self._check_constraint_on_orbits(comm)

    @classmethod
    def from_states(cls, sector, group, comm, states, norms, constraint=None, constraint_name=None):
        """The basis whose global ascending list of representatives (in the group's sort
        layout) is given: this rank's ``states`` and ``norms`` are a contiguous block of it, in
        order (a checkpoint's copy, read back on any number of ranks).  No orbit scan.
        Collective."""
        self = cls.__new__(cls)
        self.sector, self.space, self.group = sector, sector.space, group
        self.constraint, self.constraint_name = constraint, constraint_name or getattr(constraint, "__name__", None)
        self.u1_dim = RankingTables(sector).dim
        self.group_args = group.kernel_args(self.space)
        self._distribute(comm, np.ascontiguousarray(states, dtype=np.uint64), np.asarray(norms, dtype=np.float64),
                         sort=False, empty=f"the sector {sector.label()}, {group.label()} is empty")
        return self

    def _distribute(self, comm, reps, norms, sort, empty):
        """Make this rank's ``reps`` (ascending unless ``sort``) one globally ascending list, split
        evenly over the ranks; ``empty`` is the error for a basis without states.  Collective."""
        counts = np.array(comm.allgather(len(reps)), dtype=np.int64)
        self.dim = int(counts.sum())
        if self.dim == 0:
            raise SectorError(empty)
        if sort:
            reps, norms = _sample_sort(comm, reps, norms)
            counts = np.array(comm.allgather(len(reps)), dtype=np.int64)
        self.rank, self.size, self.comm = comm.rank, comm.size, comm
        self.offsets = block_offsets(self.dim, comm.size)
        self.states, self.norms = _rebalance(comm, counts, self.offsets, reps, norms)
        self.start, self.end = int(self.offsets[comm.rank]), int(self.offsets[comm.rank + 1])
        self._gather_bounds(comm)

    def repartition(self, offsets, comm):
        """Hold ``offsets[rank] .. offsets[rank+1]`` of the ascending list instead (one
        all-to-all of the states and norms).  Collective."""
        counts = np.diff(self.offsets)
        offsets = np.asarray(offsets, dtype=np.int64)
        self.states, self.norms = _rebalance(comm, counts, offsets, self.states, self.norms)
        self.offsets = offsets
        self.start, self.end = int(offsets[comm.rank]), int(offsets[comm.rank + 1])
        self._table = None
        self._gather_bounds(comm)

    def _gather_bounds(self, comm):
        """``bounds[p]``: the first state of rank p (what :meth:`index_of` sends states by).
        Collective."""
        first = self.states[0] if len(self.states) else np.uint64(0xFFFFFFFFFFFFFFFF)
        bounds = np.array(comm.allgather(first), dtype=np.uint64)
        for p in range(comm.size - 2, -1, -1):  # an empty rank takes its successor's bound
            if self.offsets[p] == self.offsets[p + 1]:
                bounds[p] = bounds[p + 1]
        self.bounds = bounds

    def _allowed(self, packed):
        """The constraint on packed states, checked to give one boolean per state."""
        from ..errors import ConfigError
        ok = np.asarray(self.constraint(packed))
        if ok.shape != packed.shape or ok.dtype != np.bool_:
            raise ConfigError("constraint", f"a function of an array of {len(packed)} states that returns as "
                              "many booleans", f"an array of shape {ok.shape} and type {ok.dtype}")
        return ok

    def _check_constraint_on_orbits(self, comm, samples=32):
        """A constraint with symmetries must hold on every image of a representative (else the
        symmetrized vectors leave the constrained space): checked on a few representatives of
        every rank.  Collective."""
        from ..errors import SectorError
        from ..parallel import collective_errors
        with collective_errors(comm):
            reps = self.states[np.linspace(0, len(self.states) - 1, min(samples, len(self.states))).astype(np.int64)] \
                if len(self.states) else np.zeros(0, dtype=np.uint64)
            if len(self.group_args.layout):
                reps = _packed(reps, self.group_args.layout)
            images = np.array([self.group._act(e, int(r))[0] for r in reps for e in self.group.elements],
                              dtype=np.uint64)
            if len(images) and not np.all(self._allowed(images)):
                raise SectorError(f"the constraint {self.constraint_name or ''} does not hold on whole orbits of "
                                  f"the symmetry group ({self.group.label()}): a symmetry maps an allowed state to "
                                  "a forbidden one; use a symmetric constraint or no symmetry")

    def _defining(self):
        gens = [(g.name, g.permutation, g.spin_flip, g.particle_hole, complex(g.character))
                for g in self.group.generators]
        return super()._defining() + [gens, self.constraint_name]

    def packed_states(self):
        """This rank's representatives in the packed layout of :mod:`fockmpi.models.space` (``states``
        holds them in the sort layout of :meth:`fockmpi.symmetry.group.SymmetryGroup.kernel_args`)."""
        out = np.empty_like(self.states)
        kernels.relayout(self.states, self.group_args.layout, 1, out)
        return out

    def _hash(self):
        """Hash table of this rank's representatives (built once, :func:`hash_table`)."""
        if getattr(self, "_table", None) is None:
            self._table = hash_table(self.states)
        return self._table

    def release_lookup(self):
        """Drop the hash table of :meth:`index_of` (16-32 bytes a state; rebuilt when asked
        again): once the Hamiltonian is built, the solve does not look states up.  Not
        collective."""
        self._table = None

    def index_of(self, states, comm=None):
        """Global index of each representative state (-1 if it is not one).  Collective.

        The states are grouped by owning rank (from the first representative of every rank),
        sent in one all-to-all, looked up by the owner, and the answers sent back in another.
        """
        from mpi4py import MPI
        comm = self.comm if comm is None else comm
        states = np.ascontiguousarray(states, dtype=np.uint64)
        keys, vals, shift = self._hash()
        if comm.size == 1:
            out = np.empty(len(states), dtype=np.int64)
            kernels.hash_lookup(states, keys, vals, shift, np.int64(self.start), out)
            return out
        scounts = np.zeros(comm.size, dtype=np.int64)
        order = np.empty(len(states), dtype=np.int64)
        kernels.bucket_by_owner(states, self.bounds, scounts, order)
        rcounts = np.array(comm.alltoall([int(c) for c in scounts]), dtype=np.int64)
        sdispl = np.concatenate([[0], np.cumsum(scounts)[:-1]])
        rdispl = np.concatenate([[0], np.cumsum(rcounts)[:-1]])
        asked = np.empty(int(rcounts.sum()), dtype=np.uint64)
        comm.Alltoallv([states[order], (scounts, sdispl), MPI.UINT64_T], [asked, (rcounts, rdispl), MPI.UINT64_T])
        answer = np.empty(len(asked), dtype=np.int64)
        kernels.hash_lookup(asked, keys, vals, shift, np.int64(self.start), answer)
        del asked
        back = np.empty(len(states), dtype=np.int64)
        comm.Alltoallv([answer, (rcounts, rdispl), MPI.INT64_T], [back, (scounts, sdispl), MPI.INT64_T])
        out = np.empty(len(states), dtype=np.int64)
        out[order] = back
        return out
