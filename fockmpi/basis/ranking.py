"""Ranking tables: the states of a U(1) sector numbered 0..dim-1 without storing them (combinatorial number system over site chunks).

The states are numbered in ascending order of their *sort layout*
(:func:`fockmpi.symmetry.encoding.sort_layout`): the packed layout itself, except on lattices of
electron sites, where the down modes are compared below the up modes.  An electron sector is
then ordered by up configuration, the down configurations of each in ascending order (a
product basis): a down-spin hop stays inside its row's block of binom(L, N_dn) states and an
up-spin hop reaches the same position of another block, so a product's reads of x run in
order (the Hubbard ring L = 14, 1.2e7 states: a PETSc product 1.16x faster than with the
site-interleaved order).  The states themselves stay packed, and with them the fermion signs.
"""
from types import SimpleNamespace

import numpy as np

from .. import kernels
from ..errors import CapacityError
from ..symmetry.encoding import layout_tables, sort_layout


MAX_CHUNK_BITS = 12

TABLE_BUDGET_BYTES = 4 * 2 ** 20  # per chunk: small tables stay in cache (measured: 12-bit

# chunks rank a state in ~7 ns, 16-bit chunks in ~12 ns on a 24-site chain)
MAX_DIMENSION = 2 ** 62


class RankingTables:
    """The tables that rank and unrank the states of one sector.  Not collective.

    Attributes
    ----------
    dim : int
        Exact dimension of the sector (Python int).
    """

    def __init__(self, sector):
        names = sector.names
        space, self.layout = _ranked_space(sector.space, names)
        tables = [space.charge_table(n) for n in names]
        dims = space.dims
        lo = [min(0, sum(int(t[i, :d].min()) for i, d in enumerate(dims))) for t in tables]
        hi = [max(0, sum(int(t[i, :d].max()) for i, d in enumerate(dims))) for t in tables]
        shape = tuple(h - l + 1 for l, h in zip(lo, hi)) or (1,)
        strides = np.cumprod((1,) + shape[:-1]).astype(np.int64)
        nR = int(np.prod(shape))
        self.shape, self.nR = shape, nR

        max_bits = int(np.clip(np.log2(TABLE_BUDGET_BYTES / (8.0 * nR)), 1, MAX_CHUNK_BITS))
        chunks = []  # lists of sites
        for i, s in enumerate(space.sites):
            if chunks and sum(space.sites[j].nbits for j in chunks[-1]) + s.nbits <= max_bits:
                chunks[-1].append(i)
            else:
                chunks.append([i])
        m = len(chunks)
        bits = [sum(space.sites[j].nbits for j in ch) for ch in chunks]
        xmax = 1 << max(bits)
        self.chunk_off = np.array([space.offsets[ch[0]] for ch in chunks], dtype=np.int64)
        self.chunk_mask = np.array([(1 << b) - 1 for b in bits], dtype=np.uint64)
        self.chunk_q = np.full((m, xmax), kernels.INVALID, dtype=np.int64)
        chunk_qvec = []  # per chunk: (valid mask, charge vectors [X, K])
        for c, ch in enumerate(chunks):
            x = np.arange(1 << bits[c], dtype=np.int64)
            valid = np.ones(len(x), dtype=bool)
            qvec = np.zeros((len(x), len(names)), dtype=np.int64)
            for i in ch:
                v = (x >> int(space.offsets[i] - self.chunk_off[c])) & ((1 << space.sites[i].nbits) - 1)
                valid &= v < dims[i]
                vv = np.minimum(v, dims[i] - 1)
                for k, t in enumerate(tables):
                    qvec[:, k] += t[i, vv]
            self.chunk_q[c, :len(x)] = np.where(valid, qvec @ strides[:len(names)] if names else 0,
                                                kernels.INVALID)
            chunk_qvec.append((valid, qvec))

        zero = tuple(-l for l in lo) or (0,)
        W = np.zeros(shape, dtype=object)
        W[zero] = 1
        T = np.zeros((m, nR, xmax + 1), dtype=np.int64)
        for c in range(m):
            valid, qvec = chunk_qvec[c]
            distinct, inverse = np.unique(qvec[valid], axis=0, return_inverse=True)
            inverse = np.asarray(inverse).reshape(-1)
            shifted = [_shift(W, tuple(u)) for u in distinct]
            counts = np.bincount(inverse, minlength=len(distinct))
            W_next = sum((int(n) * s for n, s in zip(counts, shifted)), np.zeros(shape, dtype=object))
            top = max(int(W_next.max()), 1)
            if top >= MAX_DIMENSION:
                raise CapacityError("the sector has more than 2^62 states; fix more charges in [sector]")
            flat_shifted = np.array([s.reshape(-1, order="F") for s in shifted], dtype=np.int64)
            G = np.zeros((len(valid), nR), dtype=np.int64)
            G[np.flatnonzero(valid)] = flat_shifted[inverse] if len(distinct) else 0
            X = len(valid)
            T[c, :, 1:X + 1] = np.cumsum(G, axis=0).T
            T[c, :, X + 1:] = np.iinfo(np.int64).max
            W = W_next
        self.T = T
        target = tuple(sector.internal[n] - l for n, l in zip(names, lo)) or (0,)
        self.r_top = int(np.dot(np.array(target), strides[:len(target)]))
        self.r_zero = int(np.dot(np.array(zero), strides[:len(zero)]))
        self.dim = int(W[target])

        # chunk-0 values grouped by flattened charge, for fast enumeration
        q0 = self.chunk_q[0, :1 << bits[0]]
        ok = np.flatnonzero(q0 != kernels.INVALID)
        r_of = self.r_zero + q0[ok]
        order = np.lexsort((ok, r_of))
        self.low_vals = ok[order].astype(np.int64)
        self.low_ptr = np.concatenate([[0], np.cumsum(np.bincount(r_of, minlength=nR))]).astype(np.int64)

    def args(self):
        """Arguments of the ranking kernels, as :class:`fockmpi.kernels.Ranking` (packed states in)."""
        return kernels.Ranking(self.chunk_off, self.chunk_mask, self.chunk_q, self.T, np.int64(self.r_top),
                               np.int64(self.r_zero), self.layout)

    def rank(self, states):
        """Global index of each (packed) state (-1 outside the sector)."""
        states = np.ascontiguousarray(states, dtype=np.uint64)
        if len(self.layout):
            states = kernels.relaid(states, self.layout, 0)
        return kernels.rank_states(states, self.chunk_off, self.chunk_mask, self.chunk_q, self.T,
                                   np.int64(self.r_top), np.int64(self.r_zero))

    def states(self, start, count):
        """States (packed) of global indices ``start .. start+count-1``, ascending in the sort layout."""
        if count <= 0:
            return np.zeros(0, dtype=np.uint64)
        out = kernels.enumerate_states(np.int64(start), np.int64(count), self.chunk_off, self.chunk_q,
                                       self.T, np.int64(self.r_top), self.low_ptr, self.low_vals)
        if len(self.layout):
            kernels.relayout(out, self.layout, 1, out)
        return out

    def states_at(self, indices):
        """States (packed) of the global ``indices``, in their order (scattered indices: one
        unranking each, in compiled code)."""
        indices = np.ascontiguousarray(indices, dtype=np.int64)
        out = np.empty(len(indices), dtype=np.uint64)
        kernels.unrank_states(indices, self.chunk_off, self.chunk_q, self.T, np.int64(self.r_top), self.low_ptr,
                              self.low_vals, out)
        if len(self.layout):
            kernels.relayout(out, self.layout, 1, out)
        return out

    def first_at_or_above(self, states):
        """For each state *in the sort layout*, the smallest global index whose state is at least
        that one there (``dim`` where none is)."""
        states = np.ascontiguousarray(states, dtype=np.uint64)
        out = np.empty(len(states), dtype=np.int64)
        kernels.first_at_or_above(states, np.int64(self.dim), self.chunk_off, self.chunk_q, self.T,
                                  np.int64(self.r_top), self.low_ptr, self.low_vals, out)
        return out


def _ranked_space(space, names):
    """The space whose sites the tables number, and the byte tables that move a packed state
    into its layout (empty: the packed space itself).  On a lattice of electron sites whose
    charges count modes (N, N_up, N_dn, Sz: a doubly occupied site's charge is the sum of its
    two modes'), one single-mode site per bit of the sort layout."""
    layout = layout_tables(space)
    if not len(layout):
        return space, layout
    key_bit = sort_layout(space)
    per_mode = {}
    for n in names:
        t = np.asarray(space.charge_table(n))
        up, dn = t[:, 1], t[:, 2]  # a site's value: bit 0 the up mode, bit 1 the down mode
        if np.any(t[:, 0] != 0) or np.any(t[:, 3] != up + dn):
            return space, layout[:0]  # a charge that is not a sum over modes: the packed order
        mode = np.zeros((space.nbits, 2), dtype=t.dtype)
        mode[key_bit[0::2], 1] = up
        mode[key_bit[1::2], 1] = dn
        per_mode[n] = mode
    one_bit = SimpleNamespace(nbits=1)
    modes = SimpleNamespace(sites=[one_bit] * space.nbits, dims=[2] * space.nbits,
                            offsets=np.arange(space.nbits), charge_table=per_mode.__getitem__)
    return modes, layout


def _shift(W, u):
    """``out[R] = W[R - u]`` with zeros shifted in (object arrays, any dimension)."""
    out = np.zeros_like(W)
    src, dst = [], []
    for n, k in zip(W.shape, u):
        if abs(k) >= n:
            return out
        src.append(slice(0, n - k) if k >= 0 else slice(-k, n))
        dst.append(slice(k, n) if k >= 0 else slice(0, n + k))
    out[tuple(dst)] = W[tuple(src)]
    return out


def sector_dimension(sector):
    """Exact dimension of a sector (Python int), from the ranking tables.  Not collective."""
    return RankingTables(sector).dim
