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


def lists_by_pair(pair, src, sign, npair):
    """The excitation lists of the beta strings regrouped by pair: entries ``ptr[p] .. ptr[p+1]``
    are the (target string, source string, sign) of pair p, targets ascending (so that the
    kernels below walk one row of D or G in order)."""
    n, width = pair.shape
    target = np.repeat(np.arange(n, dtype=np.int32), width)
    flat = pair.ravel()
    order = np.lexsort((target, flat))
    ptr = np.zeros(npair + 1, dtype=np.int64)
    np.add.at(ptr, flat + 1, 1)
    return np.cumsum(ptr), target[order], src.ravel()[order].astype(np.int32), sign.ravel()[order]


@njit(cache=True)
def build_d(rows, Cd, a_pair, a_row, a_sign, ptr, b_target, b_src, b_sign, D):
    """``D[i, pair, b] = sum <I|E_pq + E_qp|J> c_J`` for the intermediate determinants
    I = (alpha of link row ``i``, b); ``rows[i]``: the ghost row of that alpha string's own c,
    ``a_row``: the ghost rows of its alpha excitations; the beta lists grouped by pair
    (:func:`lists_by_pair`).  Pair-major D: an alpha excitation adds a whole row of c, a beta
    excitation reads the one row ``c[own]``."""
    nb = Cd.shape[1]
    D[:] = 0.0
    for i in range(len(rows)):
        for j in range(a_pair.shape[1]):
            p, r, s = a_pair[i, j], a_row[i, j], a_sign[i, j]
            for b in range(nb):
                D[i, p, b] += s * Cd[r, b]
        own = rows[i]
        for p in range(D.shape[1]):
            for e in range(ptr[p], ptr[p + 1]):
                D[i, p, b_target[e]] += b_sign[e] * Cd[own, b_src[e]]


@njit(cache=True)
def scatter_g(rows, G, a_pair, a_row, a_sign, ptr, b_target, b_src, b_sign, S):
    """``sigma_J += sum <J|E_rs|I> G[I, pair(r,s)]`` into the dense ghost rows ``S`` (the
    transpose of :func:`build_d`, same lists)."""
    nb = S.shape[1]
    for i in range(len(rows)):
        for j in range(a_pair.shape[1]):
            p, r, s = a_pair[i, j], a_row[i, j], a_sign[i, j]
            for b in range(nb):
                S[r, b] += s * G[i, p, b]
        own = rows[i]
        for p in range(G.shape[1]):
            for e in range(ptr[p], ptr[p + 1]):
                S[own, b_src[e]] += b_sign[e] * G[i, p, b_target[e]]


@njit(cache=True)
def embed_rows(buf, starts, irrep_of_row, beta_by_irrep, irrep_ptr, Cd):
    """Dense rows (all beta strings, zeros outside the row's irrep) from compact rows."""
    Cd[:] = 0.0
    for g in range(len(starts)):
        lo, hi = irrep_ptr[irrep_of_row[g]], irrep_ptr[irrep_of_row[g] + 1]
        for k in range(hi - lo):
            Cd[g, beta_by_irrep[lo + k]] = buf[starts[g] + k]


@njit(cache=True)
def compact_rows(Cd, starts, irrep_of_row, beta_by_irrep, irrep_ptr, buf):
    """The inverse of :func:`embed_rows` (the entries outside the row's irrep dropped)."""
    for g in range(len(starts)):
        lo, hi = irrep_ptr[irrep_of_row[g]], irrep_ptr[irrep_of_row[g] + 1]
        for k in range(hi - lo):
            buf[starts[g] + k] = Cd[g, beta_by_irrep[lo + k]]


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


class _Context:
    def __init__(self, op):
        self.op = op

    def mult(self, mat, x, y):
        self.op.mult(x, y)

    def multHermitian(self, mat, x, y):  # noqa: N802 (PETSc's name) real symmetric H
        self.op.mult(x, y)

    def multTranspose(self, mat, x, y):  # noqa: N802 (PETSc's name)
        self.op.mult(x, y)

    def getDiagonal(self, mat, d):  # noqa: N802 (PETSc's name) for Jacobi / Davidson preconditioners
        d.getArray()[:] = self.op.diagonal()


class _Round:
    """One round of a product: a run of this rank's alpha strings, the ghost rows their
    excitations reach, and the scatter that fetches those rows."""

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
        self.rows = where[alphas].astype(np.int64)
        self.a_row = where[op.a_src[alphas - lo]].astype(np.int64)
        lengths = basis.row_length(reached)
        self.starts = (np.cumsum(lengths) - lengths).astype(np.int64)
        self.irrep_of_row = (basis.target ^ basis.alpha_irreps[reached]).astype(np.int64)
        size = int(lengths.sum())
        index = np.repeat(basis.row_start[reached] - self.starts, lengths) + np.arange(size)
        self.buffer = PETSc.Vec().createSeq(size, comm=PETSc.COMM_SELF)
        source = PETSc.IS().createGeneral(index.astype(int_t), comm=PETSc.COMM_SELF)
        self.scatter = PETSc.Scatter().create(template, source, self.buffer, None)
        source.destroy()
        self.dense = not op.symmetric  # compact rows are dense rows: no copies

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
    basis : DeterminantBasis
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
        self.W = two_body_matrix(dump.h1, dump.eri, nel).astype(scalar_t)
        self.npair = self.W.shape[0]
        norb = basis.norb
        lo, hi = basis.alpha_lo, basis.alpha_hi
        self.a_pair, src, self.a_sign = excitation_lists(basis.alpha_strings[lo:hi], norb, basis.n_alpha,
                                                         basis.binom)
        self.a_src = src.astype(np.int64)
        b_lists = excitation_lists(basis.beta_strings, norb, basis.n_beta, basis.binom)
        self.b_width = b_lists[0].shape[1]
        self.b_lists = lists_by_pair(*b_lists, self.npair)  # ptr, target, source, sign
        self.symmetric = basis.constraint_name is not None
        self.order_signs = basis.order_signs().astype(scalar_t)
        nb = len(basis.beta_strings)
        itemsize = scalar_t.itemsize
        self.block = max(1, int(block_bytes // (2 * nb * self.npair * itemsize)))

        # rounds: runs of alpha strings whose ghost rows (c and sigma, dense) fit max_ghost_bytes;
        # one round when even every alpha string's row fits (the ghost rows of a round are at
        # most all of them), else as many as a run's reach (each string's excitations) needs
        reach = self.a_pair.shape[1] + 1
        per_round = max(1, int(max_ghost_bytes // (2 * nb * itemsize * reach)))
        mine = hi - lo
        everything = 2 * len(basis.alpha_strings) * nb * itemsize
        needed = 1 if everything <= max_ghost_bytes else -(-mine // per_round)
        nrounds = max(1, comm.allreduce(needed, op=_max()))
        n = basis.local_size
        self.mat = PETSc.Mat().createPython([(n, basis.dim), (n, basis.dim)], context=_Context(self), comm=comm)
        self.mat.setOption(PETSc.Mat.Option.HERMITIAN, True)
        self.mat.setOption(PETSc.Mat.Option.SYMMETRIC, True)
        self.mat.setUp()
        template = self.mat.createVecRight()
        bounds = np.linspace(lo, hi, nrounds + 1).astype(np.int64)
        self.rounds = [_Round(self, np.arange(bounds[r], bounds[r + 1], dtype=np.int64), PETSc, template)
                       for r in range(nrounds)]
        template.destroy()
        self._xs = self.mat.createVecRight()
        self._ys = self.mat.createVecRight()
        self.nghosts = sum(r.buffer.getSize() for r in self.rounds) - n
        couplings = nb * mine * (self.a_pair.shape[1] + self.b_width)
        self.nnz_global = comm.allreduce(int(couplings))
        self.products = 0

    def mult(self, x, y):
        """``y = H x``.  Collective (the ghost scatters of every round)."""
        PETSc = self.PETSc
        xa = x.getArray(readonly=True)
        self._xs.getArray()[:] = self.order_signs * xa
        self._ys.set(0.0)
        nb = len(self.basis.beta_strings)
        basis = self.basis
        for rnd in self.rounds:
            rnd.scatter.scatter(self._xs, rnd.buffer, PETSc.InsertMode.INSERT_VALUES, PETSc.ScatterMode.FORWARD)
            buf = rnd.buffer.getArray()
            ng = len(rnd.ghost_alphas)
            if rnd.dense:
                C = buf.reshape(ng, nb)  # (overwritten by sigma below, once read)
            else:
                C = np.empty((ng, nb), dtype=self.scalar_t)
                embed_rows(buf, rnd.starts, rnd.irrep_of_row, basis.beta_by_irrep, basis.irrep_ptr, C)
            S = np.zeros((ng, nb), dtype=self.scalar_t)
            self._apply(rnd, C, S)
            if rnd.dense:
                buf[:] = S.reshape(-1)
            else:
                compact_rows(S, rnd.starts, rnd.irrep_of_row, basis.beta_by_irrep, basis.irrep_ptr, buf)
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
        """S += (H - E_core) C on the ghost rows of one round, by blocks of alpha strings."""
        nb = C.shape[1]
        B = self.block
        D = np.empty((B, self.npair, nb), dtype=self.scalar_t)
        G = np.empty_like(D)
        for a in range(0, len(rnd.alphas), B):
            b = min(len(rnd.alphas), a + B)
            k = rnd.alphas[a:b] - self.basis.alpha_lo
            Dv, Gv = D[:b - a], G[:b - a]
            args_a = (self.a_pair[k], rnd.a_row[a:b], self.a_sign[k])
            build_d(rnd.rows[a:b], C, *args_a, *self.b_lists, Dv)
            np.matmul(self.W, Dv, out=Gv)  # G[i] = W D[i] (W symmetric)
            scatter_g(rnd.rows[a:b], Gv, *args_a, *self.b_lists, S)

    @property
    def bytes_local(self):
        """Bytes this operator holds on this rank: excitation lists, ghost buffers (compact and
        dense, c and sigma) of the largest round, D and G blocks, work vectors."""
        lists = sum(a.nbytes for a in (self.a_pair, self.a_src, self.a_sign) + self.b_lists)
        nb = len(self.basis.beta_strings)
        item = self.scalar_t.itemsize
        ghosts = max((len(r.ghost_alphas) * nb * 2 + r.buffer.getSize()) * item for r in self.rounds)
        blocks = 2 * self.block * nb * self.npair * item
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
