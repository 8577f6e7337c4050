"""How a symmetry element acts on packed states, as the kernels see it: bit maps, the sort layout, the arrays of a group."""
from typing import NamedTuple

import numpy as np

from ..errors import SectorError


PRUNE_BITS = 12  # the representative search prunes on the top rows of up to this many bits (table: 32 KiB)


class KernelArrays(NamedTuple):
    """What the kernels need to know of a group (:meth:`SymmetryGroup.kernel_args`), in the
    order of their arguments; every mask and table refers to the sort layout.

    ``tables[h, c, x]``: image under coset representative ``h`` of the bits ``x`` of byte
    ``c``; ``xor[h]``: bits flipped after the move; ``tshift[j]`` = (right shift, left shift)
    and ``tmask[j]`` = (mask, mask) of translation ``j < nx`` along x, rows ``nx + j`` the same
    for y; ``full``: the state's bits; ``rowmin[x]``: the smallest x-rotation of the top rows
    ``x`` (the bits from ``top`` up; a single entry when unused); ``cellmask``: on a chain, the
    lowest bit of every cell of the top row, which starts at bit ``top`` (0 otherwise); ``inversions[e, b]``: fermionic
    bits above ``b`` in Jordan-Wigner order that land below ``b``'s image (the sign of a move
    is the parity of the sum of ``popcount(s & inversions[e, b])`` over the occupied fermionic
    bits ``b``); for particle-hole elements ``phxor[e]`` is the complement applied last and
    ``phmask[e]`` the bits whose occupation before it flips the sign; ``fmask``: the fermionic
    bits; ``chars[e]``: the characters; ``layout``: byte tables packed -> sort layout and back
    (``layout[0]``, ``layout[1]``), or empty when the two are the same.
    """

    tables: np.ndarray
    xor: np.ndarray
    nx: np.int64
    tshift: np.ndarray
    tmask: np.ndarray
    full: np.uint64
    rowmin: np.ndarray
    top: np.int64
    cellmask: np.uint64
    inversions: np.ndarray
    phmask: np.ndarray
    phxor: np.ndarray
    fmask: np.uint64
    chars: np.ndarray
    layout: np.ndarray


def sort_layout(space):
    """``key_bit[b]``: the position of packed bit ``b`` in the sort layout (see
    :meth:`SymmetryGroup.kernel_args`).  Species-major for a space of electron sites only
    (down modes of sites 0, 1, ... in the low half, up modes in the high half), the packed
    layout itself otherwise."""
    n = space.nsites
    if n > 1 and all(s.kind == "electron" for s in space.sites):
        key_bit = np.empty(2 * n, dtype=np.int64)
        key_bit[0::2] = n + np.arange(n)   # up mode of site i (packed bit 2i)
        key_bit[1::2] = np.arange(n)       # down mode of site i (packed bit 2i + 1)
        return key_bit
    return np.arange(space.nbits, dtype=np.int64)


def byte_tables(dest, nbits):
    """``t[c, x]``: the bits ``x`` of byte ``c`` of a state moved to positions ``dest[b]`` (bit
    ``b = 8 c + k``); a state moves as ``OR_c t[c, byte c]`` (:func:`fockmpi.kernels.relayout`)."""
    nbytes = max(1, (nbits + 7) // 8)
    x = np.arange(256, dtype=np.uint64)
    t = np.zeros((nbytes, 256), dtype=np.uint64)
    for b in range(nbits):
        c, k = divmod(b, 8)
        t[c] |= ((x >> np.uint64(k)) & np.uint64(1)) << np.uint64(dest[b])
    return t


def layout_tables(space):
    """The byte tables between the packed layout and the sort layout (:func:`sort_layout`):
    ``[packed -> sort, sort -> packed]``, or an empty array where the two agree."""
    key_bit = sort_layout(space)
    nbits = space.nbits
    if np.all(key_bit == np.arange(nbits)):
        return np.zeros((0, max(1, (nbits + 7) // 8), 256), dtype=np.uint64)
    return np.stack([byte_tables(key_bit, nbits), byte_tables(np.argsort(key_bit), nbits)])


def bit_map(space, perm, flip, ph=False):
    """Destination bit of every bit, and the XOR mask, for one element."""
    dest = np.zeros(space.nbits, dtype=np.int64)
    flipmask = 0
    for i, site in enumerate(space.sites):
        j = perm[i]
        if space.sites[j] != site:
            raise SectorError(f"a symmetry maps site {i} ({site.kind}) to site {j} "
                              f"({space.sites[j].kind}): only sites of the same kind can be exchanged")
        for k in range(site.nbits):
            kk = k
            if flip and site.kind == "electron":
                kk = 1 - k  # up <-> down mode
            dest[space.offsets[i] + k] = space.offsets[j] + kk
        if flip:
            if site.kind == "spin":
                # S^z -> -S^z is v -> 2S - v, an XOR of every bit when 2S + 1 is a power of 2
                if site.dim != 1 << site.nbits:
                    raise SectorError(f"spin flip on {site.label()} sites is not supported (v -> 2S - v is no "
                                      "bit flip there); use momentum or reflection sectors")
                flipmask |= (site.dim - 1) << int(space.offsets[j])
            elif site.kind == "fermion":  # (bosons, e.g. phonons, are left as they are)
                raise SectorError("spin flip is defined for spin and electron sites, not for spinless fermions")
        if ph:
            if not site.fermion_bits:
                raise SectorError(f"particle-hole is defined for fermion and electron sites, not for "
                                  f"{site.kind} sites (for spins use spin_flip)")
            flipmask |= site.fermion_bits << int(space.offsets[j])
    return dest, flipmask
