"""Matrix-free Hamiltonian: a PETSc shell matrix whose MatMult applies H on the fly.

Nothing of the matrix is stored.  Every product runs the same row kernel as the stored
assembly (:func:`fockmpi.kernels.apply_rows`, :func:`fockmpi.kernels.apply_symmetric_rows`)
over this rank's rows, ``y[r] = sum_c H[r, c] x[c]``: the amplitudes of the columns this rank
owns are read from ``x`` directly, the others (*ghosts*) from a buffer that one scatter fills
per product (PETSc's VecScatter: one exchange of values with the ranks that own them, buffers
created once).  Which ghosts a rank needs is found once, when the operator is built, by a pass
of the kernel over the rows (U(1) bases rank the generated states locally; symmetric bases
send the representatives once to their owners for their indices).

Memory per rank: the basis, the ghost list (8 bytes of index, 8 of amplitude and a hash slot
of 16 per ghost, at most ``dim - local size`` of them, far fewer for local terms) and the
vectors: no matrix, and no copy of the whole vector.  Time per product: the assembly's time
per row (the row kernel), once per product.
"""
import numpy as np

from .. import kernels
from ..basis.distributed import hash_table
from ..basis.u1 import U1Basis
from ..errors import FockmpiError
from .hermitian_shell import hermitian_shell


GHOST_ROWS = 1 << 14  # rows per pass when the ghosts are collected


class ShellOperator:
    """H on ``basis`` as a PETSc shell matrix (``.mat``), applied on the fly.  Collective on ``comm``.

    Same interface as :class:`fockmpi.operator.assemble.DistributedOperator` (``mat``, ``nnz_global``,
    ``bytes_local``, ``destroy``); ``nnz_global`` counts the entries the rows generate
    (with repeats), what one product visits.
    """

    one_pass = False

    def __init__(self, compiled, basis, comm, PETSc):
        scalar_t = np.dtype(PETSc.ScalarType)
        complex_needed = compiled.dtype.kind == "c" or not getattr(getattr(basis, "group", None), "is_real", True)
        if complex_needed and scalar_t.kind != "c":
            raise FockmpiError("this sector needs complex scalars but PETSc is real (the runtime should have "
                               "chosen a complex build)")
        self.basis, self.comm, self.PETSc = basis, comm, PETSc
        self.terms = compiled.terms(scalar_t)
        self.bound = compiled.max_row_length()
        self.symmetric = not isinstance(basis, U1Basis)
        if self.symmetric:
            from .assemble import group_arrays
            self.group = group_arrays(basis, scalar_t)
        ghost_index, generated = self._collect_ghosts()
        self.nnz_global = comm.allreduce(generated + basis.local_size)
        n, N = basis.local_size, basis.dim
        self.mat = hermitian_shell(self, n, N, comm, PETSc)
        int_t = np.dtype(PETSc.IntType)
        self._ghosts = PETSc.Vec().createSeq(len(ghost_index), comm=PETSc.COMM_SELF)
        source = PETSc.IS().createGeneral(ghost_index.astype(int_t), comm=PETSc.COMM_SELF)
        template = self.mat.createVecRight()
        self._scatter = PETSc.Scatter().create(template, source, self._ghosts, None)
        source.destroy()
        template.destroy()
        self.nghosts = len(ghost_index)
        from .traffic import ghost_traffic
        self.traffic = ghost_traffic(ghost_index, np.concatenate([[0], np.cumsum(comm.allgather(int(n)))]))
        self.nnz_local = generated + basis.local_size
        self.products = 0

    # --- set-up ----------------------------------------------------------------------------
    def _collect_ghosts(self):
        """Global indices of the columns this rank's rows need but do not own (sorted), and the
        number of entries the rows generate.  Collective."""
        basis = self.basis
        n = basis.local_size
        rows = max(1, min(GHOST_ROWS, (1 << 22) // self.bound))
        found = []
        generated = 0
        if not self.symmetric:
            look = basis.lookup_args()
            for a in range(0, n, rows):
                b = min(n, a + rows)
                out = np.empty((b - a) * self.bound, dtype=np.int64)
                m = kernels.row_columns(basis.states[a:b], self.terms, look, out)
                generated += m
                cols = out[:m]
                found.append(np.unique(cols[(cols < basis.start) | (cols >= basis.end)]))
            ghosts = np.unique(np.concatenate(found)) if found else np.zeros(0, dtype=np.int64)
            self._table = hash_table(ghosts.astype(np.uint64))
            return ghosts, generated
        keys, vals, shift = basis._hash()
        for a in range(0, n, rows):
            b = min(n, a + rows)
            out = np.empty((b - a) * self.bound, dtype=np.uint64)
            m = kernels.symmetric_row_states(basis.states[a:b], self.terms, self.group, out)
            generated += m
            reps = np.unique(out[:m])
            mine = np.empty(len(reps), dtype=np.int64)
            kernels.hash_lookup(reps, keys, vals, shift, np.int64(0), mine)
            found.append(reps[mine < 0])
        reps = np.unique(np.concatenate(found)) if found else np.zeros(0, dtype=np.uint64)
        index = basis.index_of(reps, self.comm)  # collective, once
        keep = index >= 0  # representatives the irrep annihilates are no columns
        reps, index = reps[keep], index[keep]
        self._table = hash_table(np.concatenate([basis.states, reps]))
        return index, generated

    # --- the product ---------------------------------------------------------------------------
    def mult(self, x, y):
        """``y = H x``.  Collective (the ghost scatter)."""
        self._scatter.scatter(x, self._ghosts, self.PETSc.InsertMode.INSERT_VALUES,
                              self.PETSc.ScatterMode.FORWARD)
        xa = x.getArray(readonly=True)
        ga = self._ghosts.getArray(readonly=True)
        ya = y.getArray()
        keys, slots, shift = self._table
        basis = self.basis
        if self.symmetric:
            kernels.apply_symmetric_rows(basis.states, basis.norms, self.terms, self.group, keys, slots, shift,
                                         np.int64(basis.local_size), xa, ga, ya)
        else:
            kernels.apply_rows(basis.states, np.int64(basis.start), np.int64(basis.end), self.terms,
                               basis.lookup_args(), xa, keys, slots, shift, ga, ya)
        self.products += 1

    # --- DistributedOperator's interface -------------------------------------------------------
    @property
    def bytes_local(self):
        """Bytes this operator holds on this rank beyond the basis: ghost indices, amplitudes and
        the hash table."""
        keys, slots, _ = self._table
        return keys.nbytes + slots.nbytes + 16 * self.nghosts

    def destroy(self):
        self.mat.destroy()
        self._scatter.destroy()
        self._ghosts.destroy()
