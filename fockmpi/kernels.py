"""Compiled per-state kernels (numba).  Arrays and scalars in, arrays out: no objects, no MPI.

Conventions shared with :mod:`fockmpi.basis` and :mod:`fockmpi.operator.compile`:

* states are ``uint64``; site ``i`` sits at bit ``site_offsets[i]`` with mask ``site_masks[i]``;
* the basis of a U(1) sector is the sorted list of its states, split into bit *chunks*
  (chunk 0 = lowest bits).  ``chunk_q[c, x]`` is the flattened charge of chunk value ``x``
  (``INVALID`` if ``x`` holds a local state beyond a site's dimension) and
  ``T[c, r, x]`` the number of sector states whose chunks above ``c`` are fixed, whose
  chunk ``c`` is below ``x``, with remaining flattened charge index ``r`` (see fockmpi.basis.ranking);
* monomial arrays as in :class:`fockmpi.operator.compile.CompiledOperator`.
"""
from typing import NamedTuple

import numpy as np
from numba import njit, types
from numba.extending import intrinsic

INVALID = np.int64(-(2 ** 62))


@intrinsic
def _ctpop(typingctx, x):
    """The processor's population count (LLVM ``ctpop``) of a uint64."""
    def codegen(context, builder, signature, args):
        fn = builder.module.declare_intrinsic("llvm.ctpop", [args[0].type])
        return builder.call(fn, args)
    return types.uint64(types.uint64), codegen


@njit(cache=True, inline="always")
def _popcount(x):
    return np.int64(_ctpop(np.uint64(x)))


# --- ranking and unranking ---------------------------------------------------------------
@njit(cache=True, inline="always")
def _rank_one(s, chunk_off, chunk_mask, chunk_q, T, r_top, r_zero):
    nR = T.shape[1]
    r = r_top
    idx = np.int64(0)
    for c in range(chunk_off.shape[0] - 1, -1, -1):
        x = np.int64((s >> np.uint64(chunk_off[c])) & chunk_mask[c])
        q = chunk_q[c, x]
        if q == INVALID or r < 0 or r >= nR:
            return np.int64(-1)
        idx += T[c, r, x]
        r -= q
    if r != r_zero:
        return np.int64(-1)
    return idx


@njit(cache=True)
def rank_states(states, chunk_off, chunk_mask, chunk_q, T, r_top, r_zero):
    """Global index of each state in the sector, -1 for a state outside it."""
    out = np.empty(states.shape[0], dtype=np.int64)
    for k in range(states.shape[0]):
        out[k] = _rank_one(states[k], chunk_off, chunk_mask, chunk_q, T, r_top, r_zero)
    return out


@njit(cache=True)
def _unrank_prefix(i, chunk_off, chunk_q, T, r_top):
    """Unrank index ``i`` down to chunk 1: returns (high bits, remaining r, position in chunk 0)."""
    s = np.uint64(0)
    r = r_top
    rem = i
    for c in range(chunk_off.shape[0] - 1, 0, -1):
        x = np.searchsorted(T[c, r], rem, side="right") - 1
        rem -= T[c, r, x]
        s |= np.uint64(x) << np.uint64(chunk_off[c])
        r -= chunk_q[c, x]
    return s, r, rem


@njit(cache=True)
def enumerate_states(start, count, chunk_off, chunk_q, T, r_top, low_ptr, low_vals):
    """The ``count`` sector states of global index ``start, start+1, ...`` in ascending order.

    ``low_vals[low_ptr[r]:low_ptr[r+1]]`` are the chunk-0 values with flattened charge
    index ``r`` (ascending), so only one unranking per change of the high chunks is needed.
    """
    out = np.empty(count, dtype=np.uint64)
    k = 0
    while k < count:
        high, r, pos = _unrank_prefix(start + k, chunk_off, chunk_q, T, r_top)
        lo, hi = low_ptr[r], low_ptr[r + 1]
        j = lo + pos
        while j < hi and k < count:
            out[k] = high | np.uint64(low_vals[j])
            j += 1
            k += 1
    return out


@njit(cache=True)
def unrank_states(indices, chunk_off, chunk_q, T, r_top, low_ptr, low_vals, out):
    """``out[k]``: the sector state of global index ``indices[k]`` (any order; sort layout)."""
    for k in range(indices.shape[0]):
        high, r, pos = _unrank_prefix(indices[k], chunk_off, chunk_q, T, r_top)
        out[k] = high | np.uint64(low_vals[low_ptr[r] + pos])


@njit(cache=True)
def first_at_or_above(targets, dim, chunk_off, chunk_q, T, r_top, low_ptr, low_vals, out):
    """``out[k]``: the smallest global index whose state is ``>= targets[k]`` (``dim`` if
    none), by bisection over the ascending states."""
    for k in range(targets.shape[0]):
        lo, hi = np.int64(0), np.int64(dim)
        while lo < hi:
            mid = (lo + hi) // 2
            if enumerate_states(mid, 1, chunk_off, chunk_q, T, r_top, low_ptr, low_vals)[0] < targets[k]:
                lo = mid + 1
            else:
                hi = mid
        out[k] = lo


# --- symmetry groups (see fockmpi.symmetry.group.SymmetryGroup.kernel_args for the arrays) ------
# Element e = h * nT + jy * nx + jx is Tx^jx Ty^jy h: the coset representative h moves bits by
# byte tables, the lattice translations by shifts within rows of cells (x) and of the word (y).
@njit(cache=True, inline="always")
def _image(s, h, tables, xor):
    """Image of state ``s`` under coset representative ``h`` (bits moved byte by byte, then
    flipped).  Representative 0 is the identity (SymmetryGroup._split puts it first)."""
    if h == 0:
        return s
    out = np.uint64(0)
    for c in range(tables.shape[1]):
        out |= tables[h, c, (s >> np.uint64(8 * c)) & np.uint64(255)]
    return out ^ xor[h]


@njit(cache=True, inline="always")
def _shift_x(u, jx, tshift, tmask):
    if jx == 0:
        return u
    return (((u >> np.uint64(tshift[jx, 0])) & tmask[jx, 0]) |
            ((u << np.uint64(tshift[jx, 1])) & tmask[jx, 1]))


@njit(cache=True, inline="always")
def _shift_y(u, jy, nx, tshift, tmask):
    if jy == 0:
        return u
    return (((u >> np.uint64(tshift[nx + jy, 0])) & tmask[nx + jy, 0]) |
            ((u << np.uint64(tshift[nx + jy, 1])) & tmask[nx + jy, 1]))


@njit(cache=True, inline="always")
def _relayout(s, table):
    """``s`` with its bits moved by the byte tables ``table[c, x]`` (one of ``layout``)."""
    out = np.uint64(0)
    for c in range(table.shape[0]):
        out |= table[c, (s >> np.uint64(8 * c)) & np.uint64(255)]
    return out


def relaid(states, layout, direction):
    """A copy of ``states`` moved from the packed to the sort layout (``direction`` 0) or back (1)."""
    out = np.empty_like(states)
    relayout(states, layout, direction, out)
    return out


@njit(cache=True)
def relayout(states, layout, direction, out):
    """``out[k]``: ``states[k]`` moved from the packed to the sort layout (``direction`` 0) or
    back (1); a copy when ``layout`` is empty (the two layouts agree)."""
    if layout.shape[0] == 0:
        out[:] = states
        return
    for k in range(states.shape[0]):
        out[k] = _relayout(states[k], layout[direction])


@njit(cache=True, inline="always")
def _move_sign(s, image, e, inversions, phmask, phxor, fmask):
    """Sign (+1/-1) of element ``e`` taking ``s`` to ``image``: parity of the fermionic
    inversions of its mode permutation, times the particle-hole sign of the permuted state."""
    t = s & fmask
    parity = _popcount((image ^ phxor[e]) & phmask[e])
    while t:
        low = t & (~t + np.uint64(1))
        b = _popcount(low - np.uint64(1))
        parity += _popcount(s & inversions[e, b])
        t ^= low
    return -1.0 if parity & 1 else 1.0


@njit(cache=True)
def find_representatives(states, tables, xor, nx, tshift, tmask, full, rowmin, top, cellmask, inversions, phmask,
                         phxor, fmask, chars, layout, keep, norms):
    """For each state: is it the smallest of its orbit with a non-zero norm in the irrep?

    ``norms[k]`` receives ``sum over the stabilizer of conj(chi(g)) sign(g)``, which is the
    stabilizer's order when the state survives and 0 when the irrep annihilates it.  The orbit
    scan stops at the first smaller image, and a whole row of x-translations is skipped when
    the smallest rotation of its top row (``rowmin``, if given) is above the top row of ``s``.
    Returns the number of states kept.
    """
    nh = tables.shape[0]
    ny = tshift.shape[0] - nx
    nT = nx * ny
    prune = rowmin.shape[0] > 1
    kept = 0
    for k in range(states.shape[0]):
        s = states[k]
        acc = 0.0 + 0.0j
        rep = True
        for h in range(nh):
            u = _image(s, h, tables, xor)
            for jy in range(ny):
                v = _shift_y(u, jy, nx, tshift, tmask)
                if prune and rowmin[v >> np.uint64(top)] > (s >> np.uint64(top)):
                    continue  # every x-translation of v is above s
                for jx in range(nx):
                    t = _shift_x(v, jx, tshift, tmask)
                    if t < s:
                        rep = False
                        break
                    if t == s:
                        e = h * nT + jy * nx + jx
                        acc += np.conj(chars[e]) * _move_sign(s, s, e, inversions, phmask, phxor, fmask)
                if not rep:
                    break
            if not rep:
                break
        ok = rep and abs(acc) > 0.5
        keep[k] = ok
        norms[k] = acc.real if ok else 0.0
        if ok:
            kept += 1
    return kept


@njit(cache=True, inline="always")
def _representative(s, tables, xor, nx, tshift, tmask, full, rowmin, top, cellmask, floor):
    """(smallest image of ``s``, an element reaching it, number of elements reaching it).
    Rows of x-translations whose top row cannot reach the best so far are skipped; on a chain
    (``cellmask`` non-zero) only the translations that put a longest run of empty cells on top
    are tried (:func:`_chain_candidates`).  The search stops as soon as an image below
    ``floor`` is seen (count 0 then: the caller does not want such representatives)."""
    nh = tables.shape[0]
    ny = tshift.shape[0] - nx
    nT = nx * ny
    prune = rowmin.shape[0] > 1
    best = np.uint64(0xFFFFFFFFFFFFFFFF)
    arg = 0
    count = 0
    for h in range(nh):
        u = _image(s, h, tables, xor)
        if cellmask:
            tops = _chain_candidates(u, nx, tshift, tmask, cellmask)
            if tops:
                while tops:
                    low = tops & (~tops + np.uint64(1))
                    tops ^= low
                    # a run whose top cell is c is put on top by the translation c + 1
                    jx = ((_popcount(low - np.uint64(1)) - top) // tshift[1, 0] + 1) % nx
                    best, arg, count = _keep_smallest(_shift_x(u, jx, tshift, tmask), h * nT + jx, best, arg, count)
                if best < floor:
                    return best, arg, 0
                continue
        for jy in range(ny):
            v = _shift_y(u, jy, nx, tshift, tmask)
            if prune and rowmin[v >> np.uint64(top)] > (best >> np.uint64(top)):
                continue
            for jx in range(nx):
                best, arg, count = _keep_smallest(_shift_x(v, jx, tshift, tmask), h * nT + jy * nx + jx,
                                                  best, arg, count)
            if best < floor:
                return best, arg, 0
    return best, arg, count


@njit(cache=True, inline="always")
def _keep_smallest(t, e, best, arg, count):
    """Fold image ``t`` of element ``e`` into (smallest image, an element reaching it, how many)."""
    if t < best:
        return t, e, 1
    if t == best:
        return best, arg, count + 1
    return best, arg, count


@njit(cache=True, inline="always")
def _chain_candidates(u, nx, tshift, tmask, cellmask):
    """On a chain of ``nx`` cells (``tshift[1, 0]`` bits each; ``cellmask`` = the lowest bit of
    every cell of the top row, the most significant one): the top cells of the longest cyclic
    runs of empty cells of the top row, as bits of ``cellmask``; 0 when no cell there is empty
    (then every translation is a candidate).

    Why this suffices: a translation ``Tx^j`` moves cell ``c`` of every row to ``c - j``, and
    as integers a state with more empty cells on top is smaller, so the smallest translate of
    ``u`` puts one of the longest runs of empty cells of the top row on top.  Each pass keeps
    the cells whose lower neighbour is empty too; the last non-empty set marks the tops of the
    longest runs.
    """
    cb = tshift[1, 0]
    occupied = u
    for b in range(1, cb):
        occupied |= u >> np.uint64(b)
    runs = ~occupied & cellmask
    if runs == 0:
        return np.uint64(0)
    while True:
        # bit of cell c kept if cell c - 1 (cyclically) is empty as well: shift cells up by one
        longer = runs & _shift_x(runs, nx - 1, tshift, tmask)
        if longer == 0 or longer == runs:
            return runs
        runs = longer


# --- exact-match lookup of states (open-addressing hash table) ---------------------------
@njit(cache=True, inline="always")
def _slot(key, shift):
    return np.int64((key * np.uint64(0x9E3779B97F4A7C15)) >> np.uint64(shift))


@njit(cache=True, inline="always")
def _find(key, table_keys, table_vals, shift, mask):
    """The value stored for ``key`` in the hash table, or -1."""
    j = _slot(key, shift)
    while table_vals[j] >= 0:
        if table_keys[j] == key:
            return table_vals[j]
        j = (j + 1) & mask
    return np.int64(-1)


@njit(cache=True)
def hash_build(keys, table_keys, table_vals, shift):
    """Insert ``keys[i] -> i`` into a table of size ``2^(64 - shift)`` (``table_vals`` preset to -1)."""
    mask = table_keys.shape[0] - 1
    for i in range(keys.shape[0]):
        j = _slot(keys[i], shift)
        while table_vals[j] >= 0:
            j = (j + 1) & mask
        table_keys[j] = keys[i]
        table_vals[j] = i


@njit(cache=True)
def hash_lookup(queries, table_keys, table_vals, shift, offset, out):
    """``out[k] = offset + i`` where ``keys[i] == queries[k]``, or -1 if absent."""
    mask = table_keys.shape[0] - 1
    for k in range(queries.shape[0]):
        q = queries[k]
        j = _slot(q, shift)
        r = -1
        while table_vals[j] >= 0:
            if table_keys[j] == q:
                r = offset + table_vals[j]
                break
            j = (j + 1) & mask
        out[k] = r


@njit(cache=True)
def bucket_by_owner(states, bounds, counts, order):
    """Owner rank of each state (the last ``p`` with ``bounds[p] <= s``), counted into
    ``counts`` and stably grouped: ``order`` lists the positions owner by owner."""
    P = bounds.shape[0]
    owner = np.empty(states.shape[0], dtype=np.int64)
    for k in range(states.shape[0]):
        s = states[k]
        lo, hi = 0, P  # bounds[lo] <= s < bounds[hi]
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if bounds[mid] <= s:
                lo = mid
            else:
                hi = mid
        owner[k] = lo
        counts[lo] += 1
    start = np.zeros(P, dtype=np.int64)
    for p in range(1, P):
        start[p] = start[p - 1] + counts[p - 1]
    for k in range(states.shape[0]):
        order[start[owner[k]]] = k
        start[owner[k]] += 1


@njit(cache=True)
def split_rows(ptr, cols, vals, col_lo, col_hi, d_ptr, o_ptr, d_col, d_val, o_col, o_val):
    """Split CSR rows with global columns (``-1``: drop) into the diagonal block (columns in
    ``[col_lo, col_hi)``, stored relative to ``col_lo``) and the off-diagonal block.  With
    empty output arrays only the row lengths are counted into ``d_ptr[1:]``/``o_ptr[1:]``."""
    fill = d_col.shape[0] + o_col.shape[0] > 0
    for k in range(ptr.shape[0] - 1):
        nd = d_ptr[k] if fill else 0
        no = o_ptr[k] if fill else 0
        for j in range(ptr[k], ptr[k + 1]):
            c = cols[j]
            if c < 0:
                continue
            if col_lo <= c < col_hi:
                if fill:
                    d_col[nd] = c - col_lo
                    d_val[nd] = vals[j]
                nd += 1
            else:
                if fill:
                    o_col[no] = c
                    o_val[no] = vals[j]
                no += 1
        if not fill:
            d_ptr[k + 1] = nd
            o_ptr[k + 1] = no


@njit(cache=True)
def keep_upper(d_ptr, d_col, d_val, o_ptr, o_col, o_val, row0, col_lo):
    """Keep only the upper triangle (global column >= global row) of split CSR rows, in place.

    ``d_ptr``/``o_ptr`` are the row pointers of rows ``row0, row0 + 1, ...`` (absolute
    offsets into the column and value arrays; ``d_ptr[0]``, ``o_ptr[0]`` stay where they are);
    diagonal-block columns are relative to ``col_lo``, off-diagonal ones global.  Entries only
    move towards the front, so the rows that follow may be compacted later (chunk by chunk).
    Returns the number of diagonal entries kept."""
    nd = d_ptr[0]
    no = o_ptr[0]
    d_from = d_ptr[0]  # where row k starts before compaction (its pointer is rewritten)
    o_from = o_ptr[0]
    ndiag = 0
    for k in range(d_ptr.shape[0] - 1):
        row = row0 + k
        d_to = d_ptr[k + 1]
        o_to = o_ptr[k + 1]
        for j in range(d_from, d_to):
            if d_col[j] + col_lo >= row:
                ndiag += d_col[j] + col_lo == row
                d_col[nd] = d_col[j]
                d_val[nd] = d_val[j]
                nd += 1
        for j in range(o_from, o_to):
            if o_col[j] >= row:
                o_col[no] = o_col[j]
                o_val[no] = o_val[j]
                no += 1
        d_ptr[k + 1] = nd
        o_ptr[k + 1] = no
        d_from = d_to
        o_from = o_to
    return ndiag


@njit(cache=True)
def _mark_columns(cols, base, bits):
    """Set bit ``c - base`` of ``bits`` for every column ``c >= 0`` of ``cols`` that it covers."""
    span = bits.shape[0] * 64
    for k in range(cols.shape[0]):
        c = np.int64(cols[k]) - base
        if cols[k] >= 0 and 0 <= c < span:
            bits[c >> 6] |= np.uint64(1) << np.uint64(c & 63)


@njit(cache=True)
def _number_marked(cols, base, bits, first):
    """The columns marked in ``bits`` (ascending, from ``base``), and each such column of
    ``cols`` replaced by ``-(first + its position among them) - 1`` (negative: done)."""
    span = bits.shape[0] * 64
    before = np.empty(bits.shape[0], dtype=np.int64)
    total = 0
    for w in range(bits.shape[0]):
        before[w] = total
        total += _popcount(bits[w])
    marked = np.empty(total, dtype=np.int64)
    g = 0
    for w in range(bits.shape[0]):
        x = bits[w]
        while x:
            low = x & (~x + np.uint64(1))
            marked[g] = base + 64 * w + _popcount(low - np.uint64(1))
            g += 1
            x ^= low
    for k in range(cols.shape[0]):
        c = np.int64(cols[k]) - base
        if cols[k] >= 0 and 0 <= c < span:
            w = c >> 6
            below = bits[w] & ((np.uint64(1) << np.uint64(c & 63)) - np.uint64(1))
            cols[k] = -(first + before[w] + _popcount(below)) - 1
    return marked


def columns_to_ghosts(cols, window=1 << 30):
    """The distinct global columns of ``cols`` (ascending), and ``cols`` replaced in place by
    each column's position among them.

    One bit per column between the smallest and the largest, a window of ``window`` columns
    (128 MiB of bits) at a time: two passes over ``cols`` per window, no sort (a sort plus a
    binary search per entry took 6.9 s of a 6x6 lattice's assembly)."""
    if len(cols) == 0:
        return np.zeros(0, dtype=np.int64)
    lo, hi = int(cols.min()), int(cols.max()) + 1
    parts = []
    first = 0
    for base in range(lo, hi, window):
        bits = np.zeros(-(-min(window, hi - base) // 64), dtype=np.uint64)
        _mark_columns(cols, np.int64(base), bits)
        parts.append(_number_marked(cols, np.int64(base), bits, np.int64(first)))
        first += len(parts[-1])
    np.negative(cols, out=cols)
    cols -= 1
    return np.concatenate(parts)


@njit(cache=True)
def upper_product(d_ptr, d_col, d_val, o_ptr, o_col, o_val, x, x_ghost, y, z_ghost):
    """``y = H x`` on this rank's rows from the upper triangle of a hermitian H, and the
    contributions ``z_ghost`` its rows make to other ranks' rows.

    ``d_*``: the diagonal block's upper triangle (local columns, sorted, so a row's diagonal
    entry comes first when stored), ``o_*``: the entries right of this rank's columns (columns
    as positions in ``x_ghost``, the amplitudes of those columns).  The lower triangle is the
    conjugate transpose: entry ``a`` at (i, j) also acts as ``conj(a)`` at (j, i), added to
    ``y[j]`` here or to ``z_ghost`` for the owner of j.  One pass over the stored entries.

    (Indices are read as unsigned: numba then skips its negative-index wrap-around, which made
    this loop 1.4x slower, measured on the L = 26 ring.)"""
    for i in range(y.shape[0]):
        y[i] = 0
    for g in range(z_ghost.shape[0]):
        z_ghost[g] = 0
    for i in range(y.shape[0]):
        xi = x[i]
        s = y[i]  # what earlier rows' transposed entries put here
        lo = d_ptr[i]
        hi = d_ptr[i + 1]
        if lo < hi and d_col[lo] == i:
            s += d_val[lo] * xi
            lo += 1
        for k in range(lo, hi):
            j = np.uint64(d_col[k])
            a = d_val[k]
            s += a * x[j]
            y[j] += np.conj(a) * xi
        y[i] = s
    # the other ranks' columns in a second pass (in one loop with the first, the stores to two
    # arrays cost ~8%)
    for i in range(y.shape[0]):
        xi = x[i]
        s = 0
        for k in range(o_ptr[i], o_ptr[i + 1]):
            g = np.uint64(o_col[k])
            a = o_val[k]
            s += a * x_ghost[g]
            z_ghost[g] += np.conj(a) * xi
        y[i] += s


# --- the row generator: H|s> as (state, amplitude) pairs ----------------------------------
class Terms(NamedTuple):
    """The monomials of a compiled operator as the kernels take them
    (:meth:`fockmpi.operator.compile.CompiledOperator.terms`).

    Bitwise monomials (``bit_masks[a]`` = condition mask, condition value, flip mask, sign
    mask; amplitude ``bit_coef[a] * (-1)^popcount(s & sign mask)``; ``bit_value`` = the
    condition values again, contiguous for the search) are *indexed by the bits they need*: group ``g`` holds the monomials ``grp_ptr[g]:grp_ptr[g+1]``.  A *search* group
    shares the condition mask ``grp_mask[g]`` and is sorted by condition value, so a state
    ``s`` meets only those with value ``s & grp_mask[g]``, found by a binary search: a row
    costs the number of groups plus the monomials that act, not the number of monomials.  In
    a *scan* group (``grp_scan[g]``, small groups merged) every monomial compares its own mask.
    Groups ``0..ngdiag-1`` are diagonal.  Generic monomials (local tables: bosons, spin
    S > 1/2) are as in :class:`~fockmpi.operator.compile.CompiledOperator`, the diagonal ones
    ``0..ndiag-1`` first.
    """

    bit_masks: np.ndarray
    bit_coef: np.ndarray
    bit_value: np.ndarray
    grp_ptr: np.ndarray
    grp_mask: np.ndarray
    grp_scan: np.ndarray
    ngdiag: np.int64
    coef: np.ndarray
    nsites: np.ndarray
    sites: np.ndarray
    target: np.ndarray
    amp: np.ndarray
    odd: np.ndarray
    ndiag: np.int64
    site_offsets: np.ndarray
    site_masks: np.ndarray
    fmask: np.uint64


class Ranking(NamedTuple):
    """Ranking tables of a U(1) sector (:class:`fockmpi.basis.ranking.RankingTables`)."""

    chunk_off: np.ndarray
    chunk_mask: np.ndarray
    chunk_q: np.ndarray
    T: np.ndarray
    r_top: np.int64
    r_zero: np.int64
    layout: np.ndarray  # packed -> numbered layout byte tables (``layout[0]``), empty: the same


SCAN_GROUP = 8  # groups up to this size are scanned, larger ones binary-searched


@njit(cache=True, inline="always")
def _rank(s, rk):
    if rk.layout.shape[0] > 0:
        s = _relayout(s, rk.layout[0])
    return _rank_one(s, rk.chunk_off, rk.chunk_mask, rk.chunk_q, rk.T, rk.r_top, rk.r_zero)


@njit(cache=True, inline="always")
def _apply_monomial(s, a, coef, nsites, sites, target, amp, odd, site_offsets, site_masks, fmask):
    """Apply monomial ``a`` to state ``s``: returns (new state, amplitude); amplitude 0 if none."""
    val = coef[a]
    new = s
    parity = np.int64(0)
    for k in range(nsites[a]):
        i = sites[a, k]
        off = np.uint64(site_offsets[i])
        v = np.int64((s >> off) & site_masks[i])
        t = target[a, k, v]
        if t < 0:
            return s, val * 0.0
        val = val * amp[a, k, v]
        new = (new & ~(site_masks[i] << off)) | (np.uint64(t) << off)
        if odd[a, k]:
            below = (np.uint64(1) << off) - np.uint64(1)
            parity += _popcount(s & fmask & below)
    if parity & 1:
        val = -val
    return new, val


@njit(cache=True, inline="always")
def _search(x, lo, hi, values):
    """In a search group ``lo:hi``: the monomials whose condition value is ``x``: (first, end).
    The search is branch-free (halving with a conditional move), as a mispredicted branch per
    step cost more than the step."""
    base = lo
    n = hi - lo
    while n > 1:
        half = n >> 1
        base = base + half if values[base + half - 1] < x else base
        n -= half
    if base < hi and values[base] < x:
        base += 1
    e = base
    while e < hi and values[e] == x:
        e += 1
    return base, e


@njit(cache=True, inline="always")
def _diagonal_one(s, t):
    """<s|H|s> from the diagonal monomials (even, so no Jordan-Wigner string)."""
    bm, bc = t.bit_masks, t.bit_coef
    acc = bc[0] * 0 if bc.shape[0] > 0 else (t.coef[0] * 0 if t.coef.shape[0] > 0 else 0.0)
    for g in range(t.ngdiag):
        # (written out here and in _off_diagonal: as a helper returning (lo, hi) it made the
        # U(1) row kernel 2x slower, measured by scaling/check_kernels.py)
        lo, hi = t.grp_ptr[g], t.grp_ptr[g + 1]
        if not t.grp_scan[g]:
            lo, hi = _search(s & t.grp_mask[g], lo, hi, t.bit_value)
        for a in range(lo, hi):
            if (s & bm[a, 0]) != bm[a, 1]:
                continue
            if _popcount(s & bm[a, 3]) & 1:
                acc -= bc[a]
            else:
                acc += bc[a]
    for a in range(t.ndiag):
        val = t.coef[a]
        for k in range(t.nsites[a]):
            i = t.sites[a, k]
            val = val * t.amp[a, k, (s >> np.uint64(t.site_offsets[i])) & t.site_masks[i]]
        acc += val
    return acc


@njit(cache=True, inline="always")
def _off_diagonal(s, t, rk, out_key, out_val):
    """The off-diagonal part of ``H|s>``: writes ``(key, <s'|H|s>)`` pairs for the states
    ``s'`` it reaches with a non-zero amplitude (a state may come more than once) and returns
    how many.  The key is ``s'`` itself, or with U(1) ranking tables ``rk`` its index (-1
    outside the sector).  The one row generator: every consumer (stored rows, the matrix-free
    product, operators between two bases) calls it; numba compiles the ranking in or out
    (``rk`` is None or not), so it costs nothing where it is not used.  The buffers need
    ``max_row_length() - 1`` entries."""
    bm, bc = t.bit_masks, t.bit_coef
    n = 0
    for g in range(t.ngdiag, t.grp_mask.shape[0]):
        lo, hi = t.grp_ptr[g], t.grp_ptr[g + 1]
        if not t.grp_scan[g]:
            lo, hi = _search(s & t.grp_mask[g], lo, hi, t.bit_value)
        for a in range(lo, hi):
            if (s & bm[a, 0]) != bm[a, 1]:
                continue
            v = bc[a]
            if _popcount(s & bm[a, 3]) & 1:
                v = -v
            new = s ^ bm[a, 2]
            if rk is None:
                out_key[n] = new
            else:
                out_key[n] = _rank(new, rk)
            out_val[n] = v
            n += 1
    for a in range(t.ndiag, t.coef.shape[0]):
        new, v = _apply_monomial(s, a, t.coef, t.nsites, t.sites, t.target, t.amp, t.odd,
                                 t.site_offsets, t.site_masks, t.fmask)
        if v != 0:
            if rk is None:
                out_key[n] = new
            else:
                out_key[n] = _rank(new, rk)
            out_val[n] = v
            n += 1
    return n


@njit(cache=True)
def diagonal(states, t):
    """Diagonal matrix elements <s|H|s> of the diagonal monomials, for each state."""
    out = np.zeros(states.shape[0], dtype=t.coef.dtype)
    for k in range(states.shape[0]):
        out[k] = _diagonal_one(states[k], t)
    return out


@njit(cache=True, inline="always")
def _insert(buf_col, buf_val, n, col, v):
    """Insert (col, v) into the sorted buffer of length n, merging equal keys; new length.
    The keys are column indices (U(1) rows) or representative states (symmetric rows)."""
    j = n - 1
    while j >= 0 and buf_col[j] > col:
        j -= 1
    if j >= 0 and buf_col[j] == col:
        buf_val[j] += v
        return n
    for m in range(n, j + 1, -1):
        buf_col[m] = buf_col[m - 1]
        buf_val[m] = buf_val[m - 1]
    buf_col[j + 1] = col
    buf_val[j + 1] = v
    return n + 1


LONG_ROW = 48  # rows with more generated entries are sorted at once, not by insertion


@njit(cache=True)
def _sort_merge(buf_col, buf_val, n):
    """Sort the first ``n`` (key, value) pairs by key and sum equal keys; new length."""
    order = np.argsort(buf_col[:n], kind="mergesort")
    keys = buf_col[:n][order]
    vals = buf_val[:n][order]
    m = 0
    for j in range(n):
        if m > 0 and keys[j] == buf_col[m - 1]:
            buf_val[m - 1] += vals[j]
        else:
            buf_col[m] = keys[j]
            buf_val[m] = vals[j]
            m += 1
    return m


COUNT, FILL, APPEND = 0, 1, 2


@njit(cache=True)
def build_rows(states, row0, col_lo, col_hi, mode, square, t, rk,
               d_ptr, d_col, d_val, o_ptr, o_col, o_val):
    """Count (``mode=COUNT``) or write (``FILL``, ``APPEND``) CSR rows of an operator whose
    columns are ranked by the U(1) tables ``rk``.

    Row ``k`` (global index ``row0 + k``) holds ``A[s_k, s'] = conj(<s'|B|s_k>)``, where ``B``
    is the compiled operator ``t``: ``B = H`` for a hermitian H (the conjugate of what the
    monomials give is stored), ``B = A^dag`` for an operator ``A`` between two bases (rows
    ``states`` of the left basis, columns ranked in the right one).  Columns in
    ``[col_lo, col_hi)`` go to the diagonal block with local index ``col - col_lo``, the
    others to the off-diagonal block with global index.  Duplicates are summed, zero
    off-diagonal entries dropped.  ``square``: rows and columns are one basis, and the
    diagonal entry (column ``row0 + k``) is always kept; otherwise ``s_k`` is ranked among the
    columns like any generated state.  COUNT: ``d_ptr[k+1]``/``o_ptr[k+1]`` receive the row lengths.
    FILL: they must hold the row pointers.  APPEND: ``d_ptr[0]``/``o_ptr[0]`` hold where the
    rows start and the pointers are written as the rows are (the arrays must be large enough).
    Returns the number of generated states outside the column sector (non-zero means a term
    broke a charge: a bug upstream).
    """
    nbuf = t.bit_coef.shape[0] + t.coef.shape[0] + 1
    gen_c = np.empty(nbuf, dtype=np.int64)
    gen_v = np.empty(nbuf, dtype=t.coef.dtype)
    buf_col = np.empty(nbuf, dtype=np.int64)
    buf_val = np.empty(nbuf, dtype=d_val.dtype)
    lost = 0
    fill = mode != COUNT
    for k in range(states.shape[0]):
        s = states[k]
        row = row0 + k
        dcol = row if square else _rank(s, rk)
        buf_col[0] = dcol
        buf_val[0] = np.conj(_diagonal_one(s, t))
        m = _off_diagonal(s, t, rk, gen_c, gen_v)
        n = 1 if dcol >= 0 else 0
        if m <= LONG_ROW:
            for j in range(m):
                if gen_c[j] < 0:
                    lost += 1
                else:
                    n = _insert(buf_col, buf_val, n, gen_c[j], np.conj(gen_v[j]))
        else:
            for j in range(m):
                if gen_c[j] < 0:
                    lost += 1
                else:
                    buf_col[n] = gen_c[j]
                    buf_val[n] = np.conj(gen_v[j])
                    n += 1
            n = _sort_merge(buf_col, buf_val, n)
        nd = 0
        no = 0
        for j in range(n):
            col = buf_col[j]
            if buf_val[j] == 0 and not (square and col == row):
                continue
            if col_lo <= col < col_hi:
                if fill:
                    d_col[d_ptr[k] + nd] = col - col_lo
                    d_val[d_ptr[k] + nd] = buf_val[j]
                nd += 1
            else:
                if fill:
                    o_col[o_ptr[k] + no] = col
                    o_val[o_ptr[k] + no] = buf_val[j]
                no += 1
        if mode == COUNT:
            d_ptr[k + 1] = nd
            o_ptr[k + 1] = no
        elif mode == APPEND:
            d_ptr[k + 1] = d_ptr[k] + nd
            o_ptr[k + 1] = o_ptr[k] + no
    return lost


@njit(cache=True)
def apply_rows(states, col_lo, col_hi, t, rk, x, ghost_keys, ghost_slots, ghost_shift, x_ghost, y):
    """Matrix-free product on a U(1) basis: ``y[k] = sum_c A[s_k, c] x[c]`` with the rows of
    :func:`build_rows`.  ``x`` holds the columns ``[col_lo, col_hi)`` of this rank, ``x_ghost``
    the others this rank's rows need, at the slot that the hash table (``ghost_keys``,
    ``ghost_slots``: see :func:`hash_build`) gives for the column index.  Returns the number
    of generated states outside the sector, as :func:`build_rows`."""
    nbuf = t.bit_coef.shape[0] + t.coef.shape[0] + 1
    gen_c = np.empty(nbuf, dtype=np.int64)
    gen_v = np.empty(nbuf, dtype=t.coef.dtype)
    lost = 0
    mask = ghost_keys.shape[0] - 1
    for k in range(states.shape[0]):
        s = states[k]
        acc = np.conj(_diagonal_one(s, t)) * x[k]
        m = _off_diagonal(s, t, rk, gen_c, gen_v)
        for j in range(m):
            col = gen_c[j]
            if col < 0:
                lost += 1
                continue
            if col_lo <= col < col_hi:
                acc += np.conj(gen_v[j]) * x[col - col_lo]
            else:
                acc += np.conj(gen_v[j]) * x_ghost[_find(np.uint64(col), ghost_keys, ghost_slots, ghost_shift, mask)]
        y[k] = acc
    return lost


@njit(cache=True)
def row_columns(states, t, rk, out):
    """The distinct column indices of the rows of :func:`build_rows` for ``states``, written to
    ``out`` (as large as the number of generated entries); returns how many (with repeats)."""
    nbuf = t.bit_coef.shape[0] + t.coef.shape[0] + 1
    gen_c = np.empty(nbuf, dtype=np.int64)
    gen_v = np.empty(nbuf, dtype=t.coef.dtype)
    n = 0
    for k in range(states.shape[0]):
        m = _off_diagonal(states[k], t, rk, gen_c, gen_v)
        for j in range(m):
            col = gen_c[j]
            if col >= 0:
                out[n] = col
                n += 1
    return n


@njit(cache=True, inline="always")
def _project(new, v, inv_norm, g):
    """A generated state ``new`` (packed layout) with amplitude ``v`` seen from the symmetric
    basis of ``g``: (its representative in the sort layout, the matrix-element weight
    ``v * sign * conj(chi(e)) * sqrt(N_rep / N_row)``; see :func:`build_symmetric_rows`).
    For the rare paths only: in the hot loops it is written out (as a helper it made them
    1.3-1.8x slower)."""
    if g.layout.shape[0] > 0:
        new = _relayout(new, g.layout[0])
    rep, e, count = _representative(new, g.tables, g.xor, g.nx, g.tshift, g.tmask, g.full, g.rowmin, g.top,
                                    g.cellmask, np.uint64(0))
    w = v * _move_sign(new, rep, e, g.inversions, g.phmask, g.phxor, g.fmask) * np.sqrt(count * inv_norm)
    return rep, w * np.conj(g.chars[e])


@njit(cache=True)
def build_symmetric_rows(reps, norms, square, upper, t, g, ptr, out_state, out_val):
    """Rows of an operator in a symmetric basis, with columns still given as representative
    *states*.

    Row ``k`` belongs to ``|r~> = P|r> / ||P|r>||`` with ``r = reps[k]`` (sort layout).  For
    every state ``s'`` in ``B|r> = sum b |s'>`` (``t`` is ``B``: H, or ``A^dag`` for an operator
    ``A`` between two bases), with ``e s' = sign * |r'>`` (``r'`` the representative in the
    column basis, whose group arrays are ``g``):
    ``<r~'|B|r~> += b * sign * conj(chi(e)) * sqrt(N_r' / N_r)``, where ``N`` is the order of
    the stabilizer (``norms``; ``N_r'`` is the number of elements reaching ``r'``).  As in
    :func:`build_rows` the conjugate is stored, in row ``k`` under the state ``r'``; entries
    with the same ``r'`` are summed and sorted by ``r'``.  ``square``: rows and columns are
    one basis (the row's own entry is always kept).  ``ptr[0]`` holds where row 0 starts;
    ``ptr[k+1]`` is written.  Representatives that the irrep annihilates are not known here:
    the caller drops the states it cannot find.

    ``upper`` (``square`` only): the upper triangle, columns ``r' >= r``.  Since ``r'`` is the
    smallest state of the orbit of ``s'``, ``r' <= s'``: a generated state below ``r`` is
    dropped before its representative is searched, and the search stops at the first image
    below ``r``.  About half the representatives are never completed.
    """
    nbuf = t.bit_coef.shape[0] + t.coef.shape[0] + 1
    gen_s = np.empty(nbuf, dtype=np.uint64)
    gen_v = np.empty(nbuf, dtype=t.coef.dtype)
    buf_s = np.empty(nbuf, dtype=np.uint64)
    buf_val = np.empty(nbuf, dtype=out_val.dtype)
    moved = g.layout.shape[0] > 0
    for k in range(reps.shape[0]):
        key = reps[k]  # the representative in the sort layout; H acts on the packed layout
        r = _relayout(key, g.layout[1]) if moved else key
        inv_norm = 1.0 / norms[k]
        d = _diagonal_one(r, t)
        if square:
            buf_s[0] = key
            buf_val[0] = np.conj(d)
        else:
            rep, w = _project(r, d, inv_norm, g)
            buf_s[0] = rep
            buf_val[0] = np.conj(w)
        n = 1
        m = _off_diagonal(r, t, None, gen_s, gen_v)
        if m <= LONG_ROW:
            for j in range(m):
                new = gen_s[j]
                if moved:
                    new = _relayout(new, g.layout[0])
                if upper and new < key:  # its representative is below the row
                    continue
                rep, e, count = _representative(new, g.tables, g.xor, g.nx, g.tshift, g.tmask, g.full, g.rowmin, g.top,
                                                g.cellmask, key if upper else np.uint64(0))
                if count == 0:
                    continue
                w = gen_v[j] * _move_sign(new, rep, e, g.inversions, g.phmask, g.phxor, g.fmask) * np.sqrt(count * inv_norm)
                w = w * np.conj(g.chars[e])
                n = _insert(buf_s, buf_val, n, rep, np.conj(w))  # sorted by state
                # (_project written out: the inlined helper made this loop 1.3-1.8x slower)
        else:
            for j in range(m):
                rep, w = _project(gen_s[j], gen_v[j], inv_norm, g)
                if upper and rep < key:
                    continue
                buf_s[n] = rep
                buf_val[n] = np.conj(w)
                n += 1
            n = _sort_merge(buf_s, buf_val, n)
        p = ptr[k]
        for j in range(n):
            if buf_val[j] == 0 and not (square and buf_s[j] == key):
                continue
            out_state[p] = buf_s[j]
            out_val[p] = buf_val[j]
            p += 1
        ptr[k + 1] = p


@njit(cache=True)
def apply_symmetric_rows(reps, norms, t, g, keys, slots, shift, nlocal, x, x_ghost, y):
    """Matrix-free product on a symmetric basis: ``y[k] = sum A[r_k, r'] x[r']`` with the rows of
    :func:`build_symmetric_rows` (square: H).  The hash table (``keys``, ``slots``) gives for a
    representative state its slot: ``< nlocal`` in ``x`` (this rank's), else ``nlocal + j``
    for ``x_ghost[j]``; representatives that the irrep annihilates are absent and skipped."""
    nbuf = t.bit_coef.shape[0] + t.coef.shape[0] + 1
    gen_s = np.empty(nbuf, dtype=np.uint64)
    gen_v = np.empty(nbuf, dtype=t.coef.dtype)
    moved = g.layout.shape[0] > 0
    mask = keys.shape[0] - 1
    for k in range(reps.shape[0]):
        key = reps[k]
        r = _relayout(key, g.layout[1]) if moved else key
        inv_norm = 1.0 / norms[k]
        acc = np.conj(_diagonal_one(r, t)) * x[k]
        m = _off_diagonal(r, t, None, gen_s, gen_v)
        for j in range(m):
            new = gen_s[j]  # (_project written out, as in build_symmetric_rows)
            if moved:
                new = _relayout(new, g.layout[0])
            rep, e, count = _representative(new, g.tables, g.xor, g.nx, g.tshift, g.tmask, g.full, g.rowmin, g.top,
                                            g.cellmask, np.uint64(0))
            slot = _find(rep, keys, slots, shift, mask)
            if slot < 0:
                continue
            w = gen_v[j] * _move_sign(new, rep, e, g.inversions, g.phmask, g.phxor, g.fmask) * np.sqrt(count * inv_norm)
            w = np.conj(w * np.conj(g.chars[e]))
            if slot < nlocal:
                acc += w * x[slot]
            else:
                acc += w * x_ghost[slot - nlocal]
        y[k] = acc


@njit(cache=True)
def symmetric_row_states(reps, t, g, out):
    """The representatives (sort layout) that the rows of :func:`build_symmetric_rows` for
    ``reps`` refer to, with repeats, written to ``out``; returns how many."""
    nbuf = t.bit_coef.shape[0] + t.coef.shape[0] + 1
    gen_s = np.empty(nbuf, dtype=np.uint64)
    gen_v = np.empty(nbuf, dtype=t.coef.dtype)
    moved = g.layout.shape[0] > 0
    n = 0
    for k in range(reps.shape[0]):
        r = _relayout(reps[k], g.layout[1]) if moved else reps[k]
        m = _off_diagonal(r, t, None, gen_s, gen_v)
        for j in range(m):
            rep, _ = _project(gen_s[j], gen_v[j], 1.0, g)
            out[n] = rep
            n += 1
    return n
