"""The direct-CI operator: an FCIDUMP Hamiltonian applied to determinant vectors by blocks of
integrals (Knowles-Handy), matrix-free, distributed over the ranks by alpha strings.

Conventions.  Orbitals p, q, r, s; ``E_pq = a+_p,up a_q,up + a+_p,dn a_q,dn``;
integrals h_pq and (pq|rs) in chemists' notation, real, in hartree.  With
``k_pq = h_pq - 1/2 sum_r (pr|rq)`` and N electrons,

    H - E_core = sum_pq k_pq E_pq + 1/2 sum_pqrs (pq|rs) E_pq E_rs
               = sum_rs E_rs sum_pq W[rs, pq] E_pq,
    W[rs, pq]  = 1/2 (rs|pq) + (k_rs delta_pq + delta_rs k_pq) / (2N)

(``sum_p E_pp = N`` on the sector).  W is symmetric under r <-> s, p <-> q and rs <-> pq, so
it is stored on pairs ``pair(p, q) = max(p,q) (max(p,q)+1)/2 + min(p,q)``: ``npair x npair``.

One product ``sigma = H c``, for a block of intermediate determinants I = (a, b), ``a`` among
this rank's alpha strings and ``b`` every beta string:

1. ``D[I, pair(p,q)] = sum_J <I|E_pq + E_qp|J> c_J`` (``E_pp`` once) from one-electron
   excitation lists of the strings: alpha excitations read the rows ``c[a', :]`` of the alpha
   strings ``a'`` one excitation away (the *ghost rows*, gathered once per product from their
   owners), beta excitations stay inside row ``a``;
2. ``G = W D`` (dense matrix products, BLAS; D and G are pair-major, ``D[i, pair, b]`` for
   the alpha string of row i, so that an alpha excitation adds a whole row of c and a beta
   excitation works inside one row);
3. ``sigma_J += sum <J|E_rs|I> G[I, pair(r,s)]``, the transposed excitation lists: beta parts
   into row ``a``, alpha parts into the ghost rows, which are added back to their owners.

The intermediate I runs over all beta strings, every irrep: with orbital symmetry ``c`` and
``sigma`` live in one irrep, but ``E_pq c`` does not.  Determinants are alpha-then-beta
ordered here, ``|a; b> = prod_(i in a) a+_i,up prod_(j in b) a+_j,dn |0>`` with orbitals
ascending, so ``E_pq`` of either spin carries only the sign of its own string; the vectors
outside are fockmpi's site-major Fock states, converted on the way in and out with
:meth:`~fockmpi.basis.determinants.DeterminantBasis.order_signs`.

Memory per rank: the ghost rows (dense, all beta strings: at most the whole vector on few
ranks; ``max_ghost_bytes`` splits the product into rounds of alpha strings whose ghost rows fit),
the D and G blocks (``block_bytes``) and the excitation lists (``n_strings x n_el (norb - n_el
+ 1)`` entries of 9 bytes).
"""
import numpy as np
from numba import njit

from ..basis.determinants import popcount, string_rank
from ..errors import FockmpiError
from .hermitian_shell import hermitian_shell


BLOCK_BYTES = 32 * 2 ** 20        # D and G together, per block of intermediate determinants
MAX_GHOST_BYTES = 2 * 2 ** 30     # dense ghost rows of c and sigma together, per round


def pair_index(p, q):
    """Packed index of the unordered orbital pair {p, q}."""
    hi, lo = max(p, q), min(p, q)
    return hi * (hi + 1) // 2 + lo


def two_body_matrix(h1, eri, nelec):
    """W[pair(r,s), pair(p,q)] of the module docstring (npair x npair, symmetric)."""
    n = h1.shape[0]
    k = h1 - 0.5 * np.einsum("prrq->pq", eri)
    full = 0.5 * eri.copy()
    if nelec > 0:
        eye = np.eye(n)
        full += (np.einsum("rs,pq->rspq", k, eye) + np.einsum("rs,pq->rspq", eye, k)) / (2.0 * nelec)
    rows, cols = np.tril_indices(n)  # pair(p, q) for p >= q in ascending order of the packed index
    order = np.argsort(rows * (rows + 1) // 2 + cols)
    rows, cols = rows[order], cols[order]
    return np.ascontiguousarray(full[rows[:, None], cols[:, None], rows[None, :], cols[None, :]])


@njit(cache=True)
def excitation_lists(strings, norb, nel, binom):
    """For every string x: the entries (pair(p,q), y, sign) with ``E_pq |y> = sign |x>`` (one
    spin), p occupied in x, q = p or q empty in x: ``nel * (norb - nel + 1)`` entries a string."""
    n = len(strings)
    width = nel * (norb - nel + 1)
    pair = np.empty((n, width), dtype=np.int32)
    src = np.empty((n, width), dtype=np.int32)
    sign = np.empty((n, width), dtype=np.float64)
    for k in range(n):
        x = strings[k]
        me = string_rank(x, binom)
        j = 0
        for p in range(norb):
            if not (x >> p) & 1:
                continue
            pair[k, j] = p * (p + 1) // 2 + p
            src[k, j] = me
            sign[k, j] = 1.0
            j += 1
            for q in range(norb):
                if (x >> q) & 1:
                    continue
                y = (x ^ (1 << p)) | (1 << q)
                # a+_p a_q |y>: a_q passes the electrons of y below q, a+_p those of y - q below p
                moves = popcount(y & ((1 << q) - 1)) + popcount((y ^ (1 << q)) & ((1 << p) - 1))
                hi, lo = max(p, q), min(p, q)
                pair[k, j] = hi * (hi + 1) // 2 + lo
                src[k, j] = string_rank(y, binom)
                sign[k, j] = -1.0 if moves & 1 else 1.0
                j += 1
    return pair, src, sign


class PairBlocks:
    """The orbital pairs grouped by irrep (irrep(pq) = irrep(p) x irrep(q)): W is block-diagonal
    in these classes (H is totally symmetric), and ``D[a, pq, b]`` of an alpha string of irrep
    ``ga`` is non-zero only for the beta strings of irrep ``target x ga x irrep(pq)``.  Pairs are
    renumbered class by class (``order[new] = old``): class g holds ``start[g] .. start[g+1]``.
    Without ORBSYM there is one class, the identity order.  Not collective."""

    def __init__(self, orbital_irreps, W):
        n = len(orbital_irreps)
        sym = np.asarray(orbital_irreps, dtype=np.int64)
        old = np.array([sym[p] ^ sym[q] for p in range(n) for q in range(p + 1)], dtype=np.int64)
        self.order = np.argsort(old, kind="stable")
        self.new_of_old = np.empty_like(self.order)
        self.new_of_old[self.order] = np.arange(len(old))
        self.cls = old[self.order]
        counts = np.bincount(self.cls, minlength=8)
        self.start = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        self.size = counts.astype(np.int64)
        self.local = (np.arange(len(old)) - self.start[self.cls]).astype(np.int64)
        Wn = W[np.ix_(self.order, self.order)]
        self.W = [np.ascontiguousarray(Wn[self.start[g]:self.start[g + 1], self.start[g]:self.start[g + 1]])
                  for g in range(8)]


def beta_lists_by_pair(pair, src, sign, pairs, beta_irreps, beta_position):
    """The beta strings' excitation lists regrouped for the blocked kernels: for source irrep gs
    and (renumbered) pair p, entries ``ptr[gs, p] .. ptr[gs, p+1]`` hold (target, source, sign)
    with both strings as their place within their irrep's group (the order of a compact row),
    targets ascending, so the kernels walk one row of D or G in order."""
    n, width = pair.shape
    target = np.repeat(np.arange(n, dtype=np.int64), width)
    p_new = pairs.new_of_old[pair.ravel()]
    source = src.ravel().astype(np.int64)
    gs = beta_irreps[source]
    npair = len(pairs.cls)
    key = gs * npair + p_new
    order = np.lexsort((beta_position[target], key))
    ptr = np.zeros(8 * npair + 1, dtype=np.int64)
    np.add.at(ptr, key + 1, 1)
    ptr = np.cumsum(ptr)
    ptr = np.stack([ptr[g * npair:(g + 1) * npair + 1] for g in range(8)])  # (8, npair + 1)
    return (ptr, beta_position[target][order].astype(np.int32), beta_position[source][order].astype(np.int32),
            sign.ravel()[order])


@njit(cache=True)
def build_d(own, a_start, a_pair, a_sign, C, ptr, b_target, b_src, b_sign, cls, local, size, width, off, D):
    """``D[i, pair, b] = sum <I|E_pq + E_qp|J> c_J`` for the intermediate determinants
    I = (alpha string i of a block, b), in the flat blocked layout: pair p of class g, beta b of
    place l in its irrep's group at ``off[g] + (i size[g] + local[p]) width[g] + l``.  ``C`` holds
    the compact ghost rows; ``own[i]``, ``a_start[i, j]``: where the rows of string i and of its
    alpha excitations start.  An alpha excitation adds a whole row of c; a beta excitation reads
    the one row ``c[own]`` (lists of :func:`beta_lists_by_pair` for this block's irrep)."""
    D[:] = 0.0
    for i in range(len(own)):
        for j in range(a_pair.shape[1]):
            p, s, src = a_pair[i, j], a_sign[i, j], a_start[i, j]
            g = cls[p]
            n = width[g]
            base = off[g] + (i * size[g] + local[p]) * n
            row, source = D[base:base + n], C[src:src + n]  # contiguous views: vectorized
            for k in range(n):
                row[k] += s * source[k]
        me = own[i]
        mine = C[me:]
        for p in range(len(cls)):
            g = cls[p]
            base = off[g] + (i * size[g] + local[p]) * width[g]
            row = D[base:base + width[g]]
            for e in range(ptr[p], ptr[p + 1]):
                row[b_target[e]] += b_sign[e] * mine[b_src[e]]


@njit(cache=True)
def scatter_g(own, a_start, a_pair, a_sign, G, ptr, b_target, b_src, b_sign, cls, local, size, width, off, S):
    """``sigma_J += sum <J|E_rs|I> G[I, pair(r,s)]`` into the compact ghost rows ``S`` (the
    transpose of :func:`build_d`, same lists and layout)."""
    for i in range(len(own)):
        for j in range(a_pair.shape[1]):
            p, s, dst = a_pair[i, j], a_sign[i, j], a_start[i, j]
            g = cls[p]
            n = width[g]
            base = off[g] + (i * size[g] + local[p]) * n
            row, target = G[base:base + n], S[dst:dst + n]
            for k in range(n):
                target[k] += s * row[k]
        me = own[i]
        mine = S[me:]
        for p in range(len(cls)):
            g = cls[p]
            base = off[g] + (i * size[g] + local[p]) * width[g]
            row = G[base:base + width[g]]
            for e in range(ptr[p], ptr[p + 1]):
                mine[b_src[e]] += b_sign[e] * row[b_target[e]]


@njit(cache=True)
def diagonal(alpha, beta, norb, h1, J, K, ecore, out):
    """``<D|H|D>`` of the determinants with alpha strings ``alpha`` and beta strings ``beta``
    (Slater-Condon: sum of h_pp over the occupied spin-orbitals, 1/2 (J_pq - K_pq) over pairs of
    one spin, J_pq over pairs of opposite spins; J_pq = (pp|qq), K_pq = (pq|qp))."""
    for k in range(len(alpha)):
        a, b = alpha[k], beta[k]
        e = ecore
        for p in range(norb):
            na, nb = (a >> p) & 1, (b >> p) & 1
            if not (na or nb):
                continue
            e += (na + nb) * h1[p, p]
            for q in range(norb):
                ma, mb = (a >> q) & 1, (b >> q) & 1
                e += 0.5 * (na * ma + nb * mb) * (J[p, q] - K[p, q]) + na * mb * J[p, q]
        out[k] = e


class _Round:
    """One round of a product: a run of this rank's alpha strings (grouped by irrep), the ghost
    rows their excitations reach, and the scatter that fetches those rows (compact: each row
    holds the beta strings of its irrep, as the vector does)."""

    def __init__(self, op, alphas, PETSc, template):
        basis = op.basis
        int_t = np.dtype(PETSc.IntType)
        lo = basis.alpha_lo
        self.alphas = alphas
        reached = np.unique(np.concatenate([op.a_src[alphas - lo].ravel(), alphas])) if len(alphas) else \
            np.zeros(0, dtype=np.int64)
        self.ghost_alphas = reached.astype(np.int64)
        where = np.full(len(basis.alpha_strings), -1, dtype=np.int64)
        where[reached] = np.arange(len(reached))
        lengths = basis.row_length(reached)
        starts = (np.cumsum(lengths) - lengths).astype(np.int64)
        self.own_start = starts[where[alphas]]
        self.a_start = starts[where[op.a_src[alphas - lo]]]
        irreps = basis.alpha_irreps[alphas]
        self.groups = [(int(g), np.flatnonzero(irreps == g)) for g in range(8) if np.any(irreps == g)]
        size = int(lengths.sum())
        index = np.repeat(basis.row_start[reached] - starts, lengths) + np.arange(size)
        self.ghost_index = index[(index < basis.start) | (index >= basis.end)]  # (distinct, ascending)
        self.buffer = PETSc.Vec().createSeq(size, comm=PETSc.COMM_SELF)
        source = PETSc.IS().createGeneral(index.astype(int_t), comm=PETSc.COMM_SELF)
        self.scatter = PETSc.Scatter().create(template, source, self.buffer, None)
        source.destroy()

    def destroy(self):
        self.scatter.destroy()
        self.buffer.destroy()


class DirectCIOperator:
    """The FCIDUMP Hamiltonian on a :class:`~fockmpi.basis.determinants.DeterminantBasis` as a
    PETSc shell matrix (``.mat``).  Collective on ``comm``.

    Same interface as the other operators (``mat``, ``nnz_global``, ``bytes_local``, ``destroy``,
    ``storage = "direct-ci"``).  ``nnz_global`` counts the one-electron couplings one product
    visits (each D entry it adds), the analogue of a stored matrix's non-zeros.

    Parameters
    ----------
    dump : FCIDump (h1, eri, ecore, nelec)
    basis : DeterminantBasis (its orbital irreps block the product: see :class:`PairBlocks`)
    max_ghost_bytes, block_bytes : memory per rank for the ghost rows of one round and for the
        D and G blocks (see the module docstring)
    """

    storage = "direct-ci"
    prefers_davidson = True  # a dominant diagonal: Davidson needs ~10x fewer products than Krylov-Schur

    def __init__(self, dump, basis, comm, PETSc, max_ghost_bytes=MAX_GHOST_BYTES, block_bytes=BLOCK_BYTES):
        scalar_t = np.dtype(PETSc.ScalarType)
        self.basis, self.comm, self.PETSc, self.scalar_t = basis, comm, PETSc, scalar_t
        nel = basis.n_alpha + basis.n_beta
        if dump.norb != basis.norb or dump.nelec < 0:
            raise FockmpiError(f"the integrals have {dump.norb} orbitals, the basis {basis.norb}")
        self.ecore = float(dump.ecore)
        self._integrals = dump.h1, dump.eri
        self.pairs = PairBlocks(basis.orbital_irreps, two_body_matrix(dump.h1, dump.eri, nel).astype(scalar_t))
        self.npair = len(self.pairs.cls)
        norb = basis.norb
        lo, hi = basis.alpha_lo, basis.alpha_hi
        a_pair, src, self.a_sign = excitation_lists(basis.alpha_strings[lo:hi], norb, basis.n_alpha, basis.binom)
        self.a_pair = self.pairs.new_of_old[a_pair].astype(np.int32)
        self.a_src = src.astype(np.int64)
        b_lists = excitation_lists(basis.beta_strings, norb, basis.n_beta, basis.binom)
        self.b_width = b_lists[0].shape[1]
        self.b_lists = beta_lists_by_pair(*b_lists, self.pairs, basis.beta_irreps, basis.beta_position)
        self.beta_counts = np.diff(basis.irrep_ptr).astype(np.int64)
        self.order_signs = basis.order_signs().astype(scalar_t)
        # per alpha irrep: the row length of each pair class, and the block of strings D and G hold
        self._layout = {}
        item = scalar_t.itemsize
        for ga in range(8):
            width = self.beta_counts[basis.target ^ ga ^ np.arange(8)]
            per_alpha = int(np.sum(self.pairs.size * width))
            self._layout[ga] = (width, max(1, int(block_bytes // (2 * max(per_alpha, 1) * item))), per_alpha)
        self.block_elements = max(min(B, hi - lo) * per for _, B, per in self._layout.values())
        nb = len(basis.beta_strings)

        # rounds: runs of alpha strings whose ghost rows (c and sigma) fit max_ghost_bytes;
        # one round when even every alpha string's row fits (the ghost rows of a round are at
        # most all of them), else as many as a run's reach (each string's excitations) needs
        reach = self.a_pair.shape[1] + 1
        per_round = max(1, int(max_ghost_bytes // (2 * nb * item * reach)))
        mine = hi - lo
        everything = 2 * basis.dim * item
        needed = 1 if everything <= max_ghost_bytes else -(-mine // per_round)
        nrounds = max(1, comm.allreduce(needed, op=_max()))
        n = basis.local_size
        self.mat = hermitian_shell(self, n, basis.dim, comm, PETSc)
        template = self.mat.createVecRight()
        bounds = np.linspace(lo, hi, nrounds + 1).astype(np.int64)
        self.rounds = [_Round(self, np.arange(bounds[r], bounds[r + 1], dtype=np.int64), PETSc, template)
                       for r in range(nrounds)]
        template.destroy()
        self._xs = self.mat.createVecRight()
        self._ys = self.mat.createVecRight()
        self.nghosts = sum(r.buffer.getSize() for r in self.rounds) - n
        # one product: every round fetches its ghost rows and sends their partial sums back
        from .traffic import Traffic, ghost_traffic
        per_round = [ghost_traffic(r.ghost_index, basis.offsets, directions=2) for r in self.rounds]
        self.traffic = Traffic(sum(t.values for t in per_round), sum(t.messages for t in per_round), 2)
        couplings = nb * mine * (self.a_pair.shape[1] + self.b_width)
        self.nnz_global = comm.allreduce(int(couplings))
        self.products = 0

    def mult(self, x, y):
        """``y = H x``.  Collective (the ghost scatters of every round)."""
        PETSc = self.PETSc
        xa = x.getArray(readonly=True)
        self._xs.getArray()[:] = self.order_signs * xa
        self._ys.set(0.0)
        for rnd in self.rounds:
            rnd.scatter.scatter(self._xs, rnd.buffer, PETSc.InsertMode.INSERT_VALUES, PETSc.ScatterMode.FORWARD)
            buf = rnd.buffer.getArray()
            S = np.zeros_like(buf)
            self._apply(rnd, buf, S)
            buf[:] = S
            rnd.scatter.scatter(rnd.buffer, self._ys, PETSc.InsertMode.ADD_VALUES, PETSc.ScatterMode.REVERSE)
        y.getArray()[:] = self.order_signs * self._ys.getArray(readonly=True) + self.ecore * xa
        self.products += 1

    def diagonal(self):
        """``<D|H|D>`` of this rank's determinants (hartree).  Not collective."""
        if getattr(self, "_diagonal", None) is None:
            h1, eri = self._integrals
            basis = self.basis
            n = np.arange(basis.norb)
            J = np.ascontiguousarray(eri[n[:, None], n[:, None], n[None, :], n[None, :]])
            K = np.ascontiguousarray(eri[n[:, None], n[None, :], n[None, :], n[:, None]])
            mask = np.uint64((1 << basis.norb) - 1)
            alpha = ((basis.states >> np.uint64(basis._shifts[0])) & mask).astype(np.int64)
            beta = ((basis.states >> np.uint64(basis._shifts[1])) & mask).astype(np.int64)
            out = np.empty(len(alpha))
            diagonal(alpha, beta, basis.norb, np.ascontiguousarray(h1), J, K, self.ecore, out)
            self._diagonal = out.astype(self.scalar_t)
        return self._diagonal

    def _apply(self, rnd, C, S):
        """S += (H - E_core) C on the compact ghost rows of one round, by blocks of alpha strings
        of one irrep: per pair class g one batch of dense products G_g = W_g D_g."""
        pairs, lo = self.pairs, self.basis.alpha_lo
        D = np.empty(self.block_elements, dtype=self.scalar_t)
        G = np.empty_like(D)
        ptr, b_target, b_src, b_sign = self.b_lists
        for ga, positions in rnd.groups:
            width, B, per_alpha = self._layout[ga]
            if per_alpha == 0:
                continue
            lists = (ptr[self.basis.target ^ ga], b_target, b_src, b_sign)
            for a in range(0, len(positions), B):
                chunk = positions[a:a + B]
                nA = len(chunk)
                blocks = nA * pairs.size * width
                off = np.concatenate([[0], np.cumsum(blocks)[:-1]]).astype(np.int64)
                k = rnd.alphas[chunk] - lo
                layout = (pairs.cls, pairs.local, pairs.size, width, off)
                Dv, Gv = D[:nA * per_alpha], G[:nA * per_alpha]
                args_a = (rnd.own_start[chunk], rnd.a_start[chunk], self.a_pair[k], self.a_sign[k])
                build_d(*args_a, C, *lists, *layout, Dv)
                for g in range(8):
                    if blocks[g]:
                        shape = (nA, pairs.size[g], width[g])
                        np.matmul(pairs.W[g], Dv[off[g]:off[g] + blocks[g]].reshape(shape),
                                  out=Gv[off[g]:off[g] + blocks[g]].reshape(shape))
                scatter_g(*args_a, Gv, *lists, *layout, S)

    @property
    def bytes_local(self):
        """Bytes this operator holds on this rank: excitation lists, ghost rows (c and sigma) of
        the largest round, D and G blocks, work vectors."""
        lists = sum(a.nbytes for a in (self.a_pair, self.a_src, self.a_sign) + self.b_lists)
        item = self.scalar_t.itemsize
        ghosts = max(2 * r.buffer.getSize() * item for r in self.rounds)
        blocks = 2 * self.block_elements * item
        return int(lists + ghosts + blocks + 3 * self.basis.local_size * item)

    def destroy(self):
        for r in self.rounds:
            r.destroy()
        self._xs.destroy()
        self._ys.destroy()
        self.mat.destroy()


def _max():
    from mpi4py import MPI
    return MPI.MAX
