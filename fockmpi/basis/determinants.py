"""Determinant bases of quantum chemistry: (alpha string, beta string) pairs, alpha-major, split
over the ranks by alpha strings (what the direct-CI operator, :mod:`fockmpi.operator.direct_ci`,
works on).

A *string* is the occupation of the ``norb`` orbitals by one spin species, a word of ``norb``
bits (bit p: orbital p occupied).  The strings of ``n`` electrons are numbered in ascending
order of their words: the rank of a string with occupied orbitals ``o_0 < o_1 < ...`` is
``sum_k binom(o_k, k + 1)`` (the combinatorial number system).

The basis lists the determinants ``(alpha, beta)`` with alpha (spin up) strings ascending and,
for each, the allowed beta strings ascending: all of them, or with orbital symmetry those whose
irrep times the alpha string's irrep is the target irrep.  This is the ascending order of the
sort layout of electron states (:func:`fockmpi.symmetry.encoding.sort_layout`: word
``alpha << norb | beta``), so the basis is the same ordered list a trivial symmetry group gives,
and every generic stage (stored assembly, observables, results files) works on it unchanged;
only the boundaries between ranks differ: they fall between alpha strings.

The basis vectors are fockmpi's Fock states (site-major Jordan-Wigner order,
docs/conventions.md); the direct-CI operator converts to the alpha-then-beta order of
chemistry codes with :meth:`DeterminantBasis.order_signs`.
"""
import numpy as np
from numba import njit

from ..errors import SectorError
from .symmetric import SymmetricBasis


@njit(cache=True)
def combinations(norb, n, count):
    """The ``count = binom(norb, n)`` words of ``norb`` bits with ``n`` set, ascending (Gosper)."""
    out = np.empty(count, dtype=np.int64)
    if n == 0:
        out[0] = 0
        return out
    x = (np.int64(1) << n) - 1
    for k in range(count):
        out[k] = x
        c = x & -x
        r = x + c
        x = (((r ^ x) >> 2) // c) | r
    return out


def binomial_table(norb):
    """``B[m, k] = binom(m, k)`` for m, k <= norb (int64)."""
    B = np.zeros((norb + 2, norb + 2), dtype=np.int64)
    for m in range(norb + 2):
        B[m, 0] = 1
        for k in range(1, m + 1):
            B[m, k] = B[m - 1, k - 1] + B[m - 1, k]
    return B


@njit(cache=True)
def string_rank(x, binom):
    """Rank of the string ``x`` among the strings of its electron number (ascending words)."""
    r = 0
    k = 0
    p = 0
    while x:
        if x & 1:
            k += 1
            r += binom[p, k]
        x >>= 1
        p += 1
    return r


def string_irreps(strings, sym):
    """Irrep (0-based, D2h or a subgroup: XOR of the occupied orbitals' irreps) of every string."""
    out = np.zeros(len(strings), dtype=np.int64)
    for p, s in enumerate(sym):
        if s:
            out ^= ((strings >> p) & 1) * int(s)
    return out


@njit(cache=True)
def _fill_states(alphas, alpha_irreps, target, beta_sorted, irrep_ptr, shift, out):
    k = 0
    for i in range(len(alphas)):
        j = target ^ alpha_irreps[i]
        for m in range(irrep_ptr[j], irrep_ptr[j + 1]):
            out[k] = (np.uint64(alphas[i]) << np.uint64(shift)) | np.uint64(beta_sorted[m])
            k += 1


@njit(cache=True)
def _index_of(states, norb, na, nb, binom, row_start, alpha_irreps, beta_irreps, beta_position, target,
              alpha_shift, beta_shift, out):
    mask = (np.uint64(1) << np.uint64(norb)) - np.uint64(1)
    for k in range(len(states)):
        a = np.int64((states[k] >> np.uint64(alpha_shift)) & mask)
        b = np.int64((states[k] >> np.uint64(beta_shift)) & mask)
        out[k] = -1
        if np.uint64(states[k]) >> np.uint64(2 * norb) or popcount(a) != na or popcount(b) != nb:
            continue
        ia = string_rank(a, binom)
        ib = string_rank(b, binom)
        if alpha_irreps[ia] ^ beta_irreps[ib] != target:
            continue
        out[k] = row_start[ia] + beta_position[ib]


@njit(cache=True)
def _order_signs(alpha, beta, norb, out):
    for k in range(len(alpha)):
        moves = 0
        for j in range(norb):
            if (beta[k] >> j) & 1:
                moves += popcount(alpha[k] >> (j + 1))
        out[k] = -1.0 if moves & 1 else 1.0


@njit(cache=True)
def popcount(x):
    """Number of set bits of ``x``."""
    c = 0
    while x:
        x &= x - 1
        c += 1
    return c


class DeterminantBasis(SymmetricBasis):
    """The determinants of ``N_up`` alpha and ``N_dn`` beta electrons in ``norb`` orbitals (the
    sites of an electron space), alpha-major, optionally of one orbital irrep.  Collective on
    ``comm`` (no messages but the sizes).

    Parameters
    ----------
    sector : Sector fixing ``N_up`` and ``N_dn`` on a space of electron sites only
    comm : mpi4py communicator
    orbsym : sequence of the orbitals' irreps 1 .. 8 (Molpro numbering) or None
    irrep : the target irrep 1 .. 8 (with ``orbsym``)

    Attributes (beyond :class:`~fockmpi.basis.protocol.Basis`)
    ----------
    norb, n_alpha, n_beta : orbitals and electrons of each spin
    alpha_strings, beta_strings : int64 words, ascending (every rank holds both: sqrt(dim) each
        for a singlet, not the basis)
    alpha_irreps, beta_irreps : 0-based irrep of every string (zeros without ``orbsym``)
    target : 0-based target irrep
    row_start : global index of the first determinant of every alpha string (``n_alpha_strings + 1``)
    alpha_lo, alpha_hi : this rank's alpha strings ``[alpha_lo, alpha_hi)``
    beta_by_irrep, irrep_ptr : beta string indices grouped by irrep (ascending within each),
        group ``j`` at ``irrep_ptr[j]:irrep_ptr[j + 1]``: the row of alpha string ``a`` holds
        the betas of group ``target ^ alpha_irreps[a]``, in that order
    """

    cuts_anywhere = False  # (split between alpha strings: the direct-CI operator works by them)

    def __init__(self, sector, comm, orbsym=None, irrep=None):
        from ..symmetry.group import SymmetryGroup
        space = sector.space
        if not all(s.kind == "electron" for s in space.sites):
            raise SectorError("a determinant basis needs a space of electron sites only")
        q = sector.internal
        if "N_up" not in q or "N_dn" not in q or sector.parities:
            raise SectorError(f"a determinant basis needs N_up and N_dn fixed (found {sector.label()})")
        self.sector, self.space = sector, space
        self.norb = norb = space.nsites
        self.n_alpha, self.n_beta = int(q["N_up"]), int(q["N_dn"])
        self.binom = binomial_table(norb)
        na_str = int(self.binom[norb, self.n_alpha])
        nb_str = int(self.binom[norb, self.n_beta])
        self.alpha_strings = combinations(norb, self.n_alpha, na_str)
        self.beta_strings = combinations(norb, self.n_beta, nb_str)
        sym = np.zeros(norb, dtype=np.int64) if orbsym is None else np.asarray(orbsym, dtype=np.int64) - 1
        self.target = 0 if orbsym is None else int(irrep) - 1
        self.orbital_irreps = sym  # 0-based irrep of each orbital (all 0 without ORBSYM)
        self.alpha_irreps = string_irreps(self.alpha_strings, sym)
        self.beta_irreps = string_irreps(self.beta_strings, sym)
        self.beta_by_irrep = np.argsort(self.beta_irreps, kind="stable").astype(np.int64)
        counts = np.bincount(self.beta_irreps, minlength=8)
        self.irrep_ptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        self.beta_position = np.empty(nb_str, dtype=np.int64)  # place of a beta within its irrep group
        self.beta_position[self.beta_by_irrep] = np.arange(nb_str) - self.irrep_ptr[self.beta_irreps[self.beta_by_irrep]]
        row_len = counts[self.target ^ self.alpha_irreps]
        self.row_start = np.concatenate([[0], np.cumsum(row_len)]).astype(np.int64)
        self.dim = int(self.row_start[-1])
        self.u1_dim = na_str * nb_str
        if self.dim == 0:
            raise SectorError(f"the sector {sector.label()} has no determinant of orbital irrep {self.target + 1}")
        # ranks own whole alpha strings: the boundary nearest to an even split of the dimension
        ideal = np.arange(comm.size + 1) * (self.dim / comm.size)
        cut = np.clip(np.searchsorted(self.row_start, ideal), 0, na_str)
        below = np.clip(cut - 1, 0, na_str)
        cut = np.where(np.abs(self.row_start[below] - ideal) < np.abs(self.row_start[cut] - ideal), below, cut)
        cut[0], cut[-1] = 0, na_str
        self.alpha_cuts = np.maximum.accumulate(cut).astype(np.int64)
        self.alpha_lo, self.alpha_hi = int(self.alpha_cuts[comm.rank]), int(self.alpha_cuts[comm.rank + 1])
        self.offsets = self.row_start[self.alpha_cuts].astype(np.int64)
        self.rank, self.size, self.comm = comm.rank, comm.size, comm
        self.start, self.end = int(self.offsets[comm.rank]), int(self.offsets[comm.rank + 1])

        self.group = SymmetryGroup(space.nsites, [], None, space)
        self.group_args = self.group.kernel_args(space)
        self.constraint = None
        self.constraint_name = None if orbsym is None else f"orbital_irrep={self.target + 1}"
        packed_layout = not len(self.group_args.layout)  # one orbital: the packed layout is the sort layout
        self._shifts = (0, 1) if packed_layout else (norb, 0)  # (alpha, beta) bit offsets in the sort layout
        self.states = np.empty(self.end - self.start, dtype=np.uint64)
        if packed_layout:
            a = self.alpha_strings[self.alpha_lo:self.alpha_hi]
            b = self.beta_strings[self.beta_by_irrep]
            self.states[:] = [int(x) | (int(y) << 1) for x in a for y in b][:len(self.states)]
        else:
            _fill_states(self.alpha_strings[self.alpha_lo:self.alpha_hi],
                         self.alpha_irreps[self.alpha_lo:self.alpha_hi], self.target,
                         self.beta_strings[self.beta_by_irrep], self.irrep_ptr, norb, self.states)
        self.norms = np.ones(len(self.states))
        self._gather_bounds(comm)

    def row_length(self, alpha):
        """Number of determinants (beta strings) of each alpha string index in ``alpha``."""
        return self.row_start[np.asarray(alpha) + 1] - self.row_start[np.asarray(alpha)]

    def index_of(self, states, comm=None):
        """Global index of each state (sort layout; -1: not a determinant of this basis).  Not
        collective: any rank ranks any determinant (``comm`` is accepted for the protocol)."""
        states = np.ascontiguousarray(states, dtype=np.uint64)
        out = np.empty(len(states), dtype=np.int64)
        _index_of(states, self.norb, self.n_alpha, self.n_beta, self.binom, self.row_start, self.alpha_irreps,
                  self.beta_irreps, self.beta_position, self.target, self._shifts[0], self._shifts[1], out)
        return out

    def order_signs(self):
        """Per local determinant: the sign between fockmpi's site-major Fock state and the
        alpha-then-beta determinant of chemistry codes, ``|site-major> = sign |alpha; beta>``,
        ``sign = (-1)^(sum over occupied beta orbitals j of #{occupied alpha orbitals i > j})``
        (each beta creator moves past the alpha creators to its right).  Not collective."""
        mask = np.uint64((1 << self.norb) - 1)
        alpha = ((self.states >> np.uint64(self._shifts[0])) & mask).astype(np.int64)
        beta = ((self.states >> np.uint64(self._shifts[1])) & mask).astype(np.int64)
        out = np.empty(len(self.states))
        _order_signs(alpha, beta, self.norb, out)
        return out

