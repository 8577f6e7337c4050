"""A distributed sorted list of states: sample sort, rebalance, hash lookup; the part any enumerated basis is built on."""
import numpy as np

from .. import kernels


def hash_table(keys):
    """Open-addressing table ``keys[i] -> i`` for :func:`fockmpi.kernels.hash_lookup`:
    (keys, slots, shift), 1.4-2.9 slots of 16 bytes per key, so at most 70% full: a lookup
    costs about one cache miss instead of a binary search."""
    bits = max(4, int(-(-10 * max(1, len(keys)) // 7) - 1).bit_length())
    table_keys = np.zeros(1 << bits, dtype=np.uint64)
    table_vals = np.full(1 << bits, -1, dtype=np.int64)
    kernels.hash_build(np.ascontiguousarray(keys, dtype=np.uint64), table_keys, table_vals, np.int64(64 - bits))
    return table_keys, table_vals, np.int64(64 - bits)


def _packed(states, layout):
    """``states`` (sort layout) in the packed layout."""
    return kernels.relaid(states, layout, 1)


def _sample_sort(comm, states, norms, samples_per_rank=64):
    """Move ``states`` (with their ``norms``) between ranks so that every rank's states are
    ascending and come before the next rank's (counts only roughly equal; :func:`_rebalance`
    evens them out).  Collective."""
    order = np.argsort(states)
    states, norms = states[order], norms[order]
    if comm.size == 1:
        return states, norms
    picks = states[np.linspace(0, len(states) - 1, min(len(states), samples_per_rank)).astype(np.int64)]
    pool = np.sort(np.concatenate(comm.allgather(picks)))
    splitters = pool[(np.arange(1, comm.size) * len(pool)) // comm.size]
    cut = np.concatenate([[0], np.searchsorted(states, splitters), [len(states)]])
    states, norms = _exchange(comm, states, norms, cut)
    order = np.argsort(states)
    return states[order], norms[order]


def _rebalance(comm, counts, offsets, states, norms):
    """Move a globally ascending distributed list so that rank p holds ``offsets[p]:offsets[p+1]``."""
    mine = int(counts[:comm.rank].sum())
    # destination ranges of my items [mine, mine + n)
    return _exchange(comm, states, norms, np.clip(offsets - mine, 0, len(states)))


def _exchange(comm, states, norms, cut):
    """Send ``states[cut[p]:cut[p+1]]`` (and the same norms) to rank p; returns what this rank
    receives, in rank order.  Collective."""
    from mpi4py import MPI
    cut = np.asarray(cut, dtype=np.int64)
    scounts, sdispl = np.diff(cut), cut[:-1]
    rcounts = np.array(comm.alltoall([int(c) for c in scounts]), dtype=np.int64)
    rdispl = np.concatenate([[0], np.cumsum(rcounts)[:-1]])
    total = int(rcounts.sum())
    out_s = np.empty(total, dtype=np.uint64)
    out_n = np.empty(total, dtype=np.float64)
    comm.Alltoallv([states, (scounts, sdispl), MPI.UINT64_T], [out_s, (rcounts, rdispl), MPI.UINT64_T])
    comm.Alltoallv([norms, (scounts, sdispl), MPI.DOUBLE], [out_n, (rcounts, rdispl), MPI.DOUBLE])
    return out_s, out_n
