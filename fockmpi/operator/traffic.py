"""What one product of a distributed operator sends between ranks: for each rank the distinct
values of x it receives from other ranks (its ghosts) and from how many ranks (messages).  A
stored matrix receives the columns of its off-diagonal block; the upper triangle receives them
and sends as many partial sums back (twice the values and messages); the matrix-free operator
receives the amplitudes its generated states need; the direct-CI operator fetches the ghost rows
of each round and sends their partial sums back (twice).  Not collective unless marked."""
from dataclasses import dataclass

import numpy as np


@dataclass
class Traffic:
    """One rank's share of a product: ``values`` received (ghost amplitudes) and ``messages``
    (ranks they come from), each counted once per direction (``directions``: 2 for the upper
    triangle, whose partial sums travel back)."""

    values: int
    messages: int
    directions: int = 1


def ghost_traffic(ghosts, col_offsets, directions=1):
    """:class:`Traffic` of the distinct global columns ``ghosts`` (sorted, none owned here), with
    ``col_offsets[r]`` the first column of rank r."""
    ghosts = np.asarray(ghosts)
    if not len(ghosts):
        return Traffic(0, 0, directions)
    owners = np.searchsorted(np.asarray(col_offsets), ghosts, side="right") - 1
    return Traffic(len(ghosts) * directions, int(len(np.unique(owners))) * directions, directions)


def distinct_off_block(columns, col_offsets, rank, window=1 << 26):
    """:class:`Traffic` of a stored matrix's off-diagonal block: its entries' global ``columns``
    (not changed, not sorted: a bitmap over ``window`` columns at a time)."""
    columns = np.asarray(columns)
    if not len(columns):
        return Traffic(0, 0)
    lo, hi = int(columns.min()), int(columns.max()) + 1
    values, owners = 0, set()
    offsets = np.asarray(col_offsets)
    for base in range(lo, hi, window):
        top = min(hi, base + window)
        inside = columns[(columns >= base) & (columns < top)]
        if not len(inside):
            continue
        seen = np.zeros(top - base, dtype=bool)
        seen[inside - base] = True
        found = np.flatnonzero(seen) + base  # the distinct columns of this window, ascending
        values += len(found)
        owners.update(np.unique(np.searchsorted(offsets, found, side="right") - 1).tolist())
    owners.discard(rank)
    return Traffic(values, len(owners))


def traffic_record(op, basis, comm, scalar_bytes):
    """Per-rank lists of the states, stored non-zeros, ghost values and messages of one product,
    and the bytes one product moves between all ranks (-1 where the operator does not say).
    Collective."""
    t = getattr(op, "traffic", None)
    values = comm.allgather(t.values if t is not None else -1)
    messages = comm.allgather(t.messages if t is not None else -1)
    states = comm.allgather(int(basis.local_size))
    nnz = comm.allgather(int(getattr(op, "nnz_local", -1)))
    moved = sum(values) * scalar_bytes if min(values) >= 0 else -1
    mean_states = max(1.0, sum(states) / len(states))
    mean_nnz = sum(nnz) / len(nnz) if min(nnz) >= 0 else 0
    balance = getattr(op, "balance", None)
    return {"states": states, "nnz": nnz, "ghost_values": values, "ghost_messages": messages,
            "bytes_per_product": moved, "imbalance_states": max(states) / mean_states,
            "imbalance_nnz": max(nnz) / mean_nnz if mean_nnz > 0 else -1.0,
            "balance": "nnz" if balance is not None else "states",
            "imbalance_nnz_even_states": balance[0] if balance is not None else -1.0}
