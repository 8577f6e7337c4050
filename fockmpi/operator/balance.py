"""Where the basis is cut between ranks: by states, or by the work of the product.

The bases split their states evenly (:func:`fockmpi.parallel.block_offsets`), but the rows of H
are not equally long.  On a symmetric basis the representatives are ordered by their bits, and
the smallest states of their orbits (many leading zeros, few domain walls) have the shortest
rows: on the L = 24 Heisenberg ring at k = 0 the last of 16 ranks holds 16.8 non-zeros per row,
the first 10.6, so the slowest rank of a product does 1.25x the mean work.

:func:`balance_rows` moves the cuts.  Every rank measures the row length (non-zeros, the
diagonal included) of ``SAMPLES`` states spread evenly over its block with the row kernel
itself (stratified sampling: the estimate of a rank's total is within about 0.5% at this
sample size), which makes a piecewise constant density of non-zeros along the basis.  The cuts then
divide the cost ``(1 - a) * states / dim + a * nnz / nnz_total`` evenly, with the largest
weight ``a`` in [0, 1] for which no rank holds more than ``MAX_STATE_IMBALANCE`` times the
mean number of states (vectors and the orthogonalization go with the states, the product with
the non-zeros).  The states imbalance is exact (the cuts are known); the non-zero balance is an
estimate, which ``/parallel`` in the results file then reports as counted.  Where the even
split is already within ``WORTH_MOVING`` (U(1) sectors on few ranks) nothing moves.

Any split is valid: rows and vectors follow the basis' ``offsets``, checkpoints store vectors
by global index, and the same ranks and job give the same cuts.  The cuts move once, before any
vector exists: the first operator built on a basis settles them (``Basis.cuts_settled``,
:func:`fockmpi.app.solve.build_operator`), and a second one (a quench, a target sector's H built
after a vector was made on it) leaves them as they are.
"""
import numpy as np

from .. import kernels

SAMPLES = 1 << 14           # row lengths measured per rank (a few ms of the row kernel)
WORTH_MOVING = 1.02         # the even split is kept when its estimated nnz imbalance is below this
MAX_STATE_IMBALANCE = 1.1   # max / mean states per rank allowed for the sake of the non-zeros
_BISECTIONS = 30


def can_balance(basis):
    """Whether ``basis`` can be cut anywhere (U(1), symmetric and Gauss-law bases; not the
    determinant basis, cut between alpha strings).  Not collective."""
    return bool(getattr(basis, "cuts_anywhere", False))


def sample_row_lengths(compiled, basis, positions, scalar_t=np.float64):
    """Non-zeros (diagonal included) of the rows at local ``positions`` of ``basis``, as the
    assembly will store them (entries the irrep annihilates still counted).  Not collective."""
    from ..basis.u1 import U1Basis
    states = np.ascontiguousarray(basis.states[positions])
    n = len(states)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    terms = compiled.terms(np.dtype(scalar_t))
    if isinstance(basis, U1Basis):
        d_ptr, o_ptr = np.zeros(n + 1, dtype=np.int64), np.zeros(n + 1, dtype=np.int64)
        none_i, none_v = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=scalar_t)
        # (counted as rows with negative indices: the row's own entry is kept even where it
        # vanishes, as assembly keeps it, and cannot merge with a generated column)
        kernels.build_rows(states, np.int64(-1 - n), np.int64(0), np.int64(basis.dim), kernels.COUNT, True, terms,
                           basis.lookup_args(), d_ptr, none_i, none_v, o_ptr, none_i, none_v)
        return d_ptr[1:] + o_ptr[1:]
    from .assemble import group_arrays
    bound = compiled.max_row_length()
    norms = np.ascontiguousarray(basis.norms[positions])
    group = group_arrays(basis, scalar_t)
    chunk = max(1, (1 << 22) // bound)  # (rows a chunk, as assembly takes them: its buffers stay small)
    out = np.empty(n, dtype=np.int64)
    for a in range(0, n, chunk):
        b = min(n, a + chunk)
        ptr = np.zeros(b - a + 1, dtype=np.int64)
        out_s = np.empty((b - a) * bound, dtype=np.uint64)
        out_v = np.empty((b - a) * bound, dtype=scalar_t)
        kernels.build_symmetric_rows(states[a:b], norms[a:b], True, False, terms, group, ptr, out_s, out_v)
        out[a:b] = np.diff(ptr)
    return out


def balanced_offsets(comm, dim, offsets, positions, lengths, max_state_imbalance=MAX_STATE_IMBALANCE):
    """New cuts of a basis of ``dim`` states now cut at ``offsets``, from the row ``lengths``
    measured at this rank's local ``positions`` (ascending).  Returns ``(offsets, weight)``:
    the cuts (length ranks + 1) and the weight ``a`` of the non-zeros in the cost they divide
    evenly.  Collective."""
    from mpi4py import MPI
    size, rank = comm.size, comm.rank
    start, end = int(offsets[rank]), int(offsets[rank + 1])
    n = end - start
    edges, density = _segments(n, positions, lengths)
    xs = start + edges  # global positions of the segment ends
    zs = np.concatenate([[0.0], np.cumsum(density * np.diff(edges))])
    before = comm.exscan(float(zs[-1]))  # (None on rank 0)
    total = comm.allreduce(float(zs[-1]))
    zs = zs + (before if rank else 0.0)
    if total <= 0:
        return np.asarray(offsets, dtype=np.int64), 0.0

    def cuts(weight):
        cost = (1 - weight) * xs / dim + weight * zs / total  # ascending; rank's share of [0, 1]
        targets = np.arange(1, size) / size
        mine = (targets >= cost[0]) & (targets < cost[-1]) if rank < size - 1 else (targets >= cost[0])
        found = np.zeros(size + 1, dtype=np.int64)
        if np.any(mine) and n:
            x = np.interp(targets[mine], cost, xs)
            found[1:size][mine] = np.rint(x).astype(np.int64)
        found = comm.allreduce(found, op=MPI.SUM)
        found[0], found[-1] = 0, dim
        return np.maximum.accumulate(found)

    def state_imbalance(cut):
        return np.diff(cut).max() / (dim / size)

    best = cuts(1.0)
    if state_imbalance(best) <= max_state_imbalance:
        return best, 1.0
    lo, hi = 0.0, 1.0
    best = cuts(0.0)
    for _ in range(_BISECTIONS):
        mid = (lo + hi) / 2
        cut = cuts(mid)
        if state_imbalance(cut) <= max_state_imbalance:
            lo, best = mid, cut
        else:
            hi = mid
    return best, lo


def balance_rows(compiled, basis, comm, scalar_t=np.float64, samples=SAMPLES):
    """Cut ``basis`` again so that the ranks' shares of the product's non-zeros come close to
    even (module docstring), once: the first call settles the cuts (``basis.cuts_settled``),
    later ones leave them.  Returns ``(estimated nnz imbalance before, after)``, or None where
    nothing was moved (cuts settled before, one rank, a basis that cannot be cut anywhere, fewer
    states than ranks).  Collective."""
    if basis.cuts_settled:
        return None
    basis.cuts_settled = True  # (whatever happens now, vectors made after this live on the cuts)
    if comm.size == 1 or not can_balance(basis) or basis.dim < 4 * comm.size:
        return None
    n = basis.local_size
    positions = np.unique(np.linspace(0, n - 1, min(n, samples)).astype(np.int64)) if n else np.zeros(0, np.int64)
    lengths = sample_row_lengths(compiled, basis, positions, scalar_t)
    offsets, weight = balanced_offsets(comm, basis.dim, basis.offsets, positions, lengths)
    before = _estimated_imbalance(comm, basis.offsets, positions, lengths, basis.offsets)
    after = _estimated_imbalance(comm, basis.offsets, positions, lengths, offsets)
    if before < WORTH_MOVING or after >= before or np.array_equal(offsets, basis.offsets):
        return before, before  # (within the sampling error of even, or no better)
    basis.repartition(offsets, comm)
    return before, after


def _segments(n, positions, lengths):
    """A piecewise constant density of non-zeros over a block of ``n`` states from the row
    ``lengths`` at ``positions``: sample j stands for the states between its neighbours'
    midpoints.  Returns (segment edges, local positions; density per segment)."""
    positions = np.asarray(positions, dtype=np.float64)
    if not (n and len(positions)):
        return np.array([0.0, float(n)]), np.zeros(1)
    edges = np.concatenate([[0.0], (positions[1:] + positions[:-1] + 1) / 2, [float(n)]])
    return edges, np.asarray(lengths, dtype=np.float64)


def _estimated_imbalance(comm, old, positions, lengths, new):
    """max / mean of the non-zeros per rank under the cuts ``new``, from the samples taken under
    ``old``.  Collective."""
    from mpi4py import MPI
    rank = comm.rank
    n = int(old[rank + 1] - old[rank])
    per = np.zeros(comm.size)
    if n and len(positions):
        edges, density = _segments(n, positions, lengths)
        edges = old[rank] + edges
        first = max(0, int(np.searchsorted(new, edges[0], side="right")) - 1)
        last = min(comm.size, int(np.searchsorted(new, edges[-1], side="left")))
        for p in range(first, last):  # (the new blocks that overlap this rank's old one)
            a, b = new[p], new[p + 1]
            overlap = np.clip(np.minimum(edges[1:], b) - np.maximum(edges[:-1], a), 0, None)
            per[p] = float(np.dot(overlap, density))
    per = comm.allreduce(per, op=MPI.SUM)
    return float(per.max() / per.mean()) if per.mean() > 0 else 1.0
