"""A hermitian H stored as its upper triangle (``[solver] storage = "upper"``): half the bytes of
the MPIAIJ matrix, and a product that reads them once.

Each rank keeps the upper triangle of its rows (columns >= row, diagonal included) as the
assembly built them (:func:`fockmpi.operator.assemble.assemble_hamiltonian` with
``symmetric_storage``), split into the diagonal block (its own columns) and the entries in
columns of higher ranks; nothing is copied.  A product (:func:`fockmpi.kernels.upper_product`)
walks those entries once: entry ``a`` at (i, j) adds ``a x_j`` to row i and ``conj(a) x_i`` to
row j.  Rows j of other ranks receive theirs through one reverse scatter (add) per product; the
amplitudes of those columns come in through one forward scatter (PETSc VecScatter, buffers made
once), like the matrix-free operator's ghosts.

Why not PETSc's MPISBAIJ: it copies the rows (the assembly then holds both halves) and keeps
~90 bytes per row of bookkeeping and product buffers; on the 36-site ring that was 12 GB per
rank instead of ~6 (docs/benchmarks.md).
"""
import numpy as np

from .. import kernels
from .hermitian_shell import hermitian_shell


class UpperOperator:
    """H on this rank's rows from their upper triangle, as a PETSc shell matrix (``.mat``).
    Collective on ``comm`` (construction and every product).

    ``diag = (ptr, local columns, values)``: the diagonal block's upper triangle; ``offdiag =
    (ptr, global columns, values)``: the entries in higher ranks' columns (their columns are
    replaced by ghost positions, in place).  ``n`` local rows of ``N``, rows from ``row0``;
    ``nnz_global`` counts the whole matrix's non-zeros.  Same interface as
    :class:`~fockmpi.operator.assemble.DistributedOperator`.
    """

    one_pass = True
    symmetric_storage = True

    def __init__(self, diag, offdiag, n, N, nnz_global, comm, PETSc, one_pass=True):
        self.PETSc = PETSc
        self.one_pass = one_pass
        self.d_ptr, self.d_col, self.d_val = diag
        self.o_ptr, o_col, self.o_val = offdiag
        int_t = np.dtype(PETSc.IntType)
        ghosts = kernels.columns_to_ghosts(o_col)  # global columns of other ranks these rows touch (sorted)
        self.o_col = o_col
        self.nghosts = len(ghosts)
        from .traffic import ghost_traffic
        # (x's ghosts come in, and as many partial sums go back: two directions)
        self.traffic = ghost_traffic(ghosts, np.concatenate([[0], np.cumsum(comm.allgather(int(n)))]), directions=2)
        self.nnz_local = len(self.d_col) + len(self.o_col)
        self.nnz_global = nnz_global
        self.mat = hermitian_shell(self, n, N, comm, PETSc)
        self._x_ghost = PETSc.Vec().createSeq(self.nghosts, comm=PETSc.COMM_SELF)
        self._z_ghost = PETSc.Vec().createSeq(self.nghosts, comm=PETSc.COMM_SELF)
        source = PETSc.IS().createGeneral(ghosts.astype(int_t), comm=PETSc.COMM_SELF)
        template = self.mat.createVecRight()
        self._scatter = PETSc.Scatter().create(template, source, self._x_ghost, None)
        source.destroy()
        template.destroy()
        del ghosts

    def mult(self, x, y):
        """``y = H x``.  Collective (two scatters)."""
        PETSc = self.PETSc
        self._scatter.scatter(x, self._x_ghost, PETSc.InsertMode.INSERT_VALUES, PETSc.ScatterMode.FORWARD)
        kernels.upper_product(self.d_ptr, self.d_col, self.d_val, self.o_ptr, self.o_col, self.o_val,
                              x.getArray(readonly=True), self._x_ghost.getArray(readonly=True), y.getArray(),
                              self._z_ghost.getArray())
        self._scatter.scatter(self._z_ghost, y, PETSc.InsertMode.ADD_VALUES, PETSc.ScatterMode.REVERSE)

    def diagonal(self, rows_per_pass=1 << 16):
        """The diagonal of H on this rank's rows (zero where none is stored)."""
        n = len(self.d_ptr) - 1
        out = np.zeros(n, dtype=self.d_val.dtype)
        for a in range(0, n, rows_per_pass):
            b = min(n, a + rows_per_pass)
            lo, hi = int(self.d_ptr[a]), int(self.d_ptr[b])
            row_of = np.repeat(np.arange(a, b), np.diff(self.d_ptr[a:b + 1]))
            on_diagonal = self.d_col[lo:hi] == row_of
            out[row_of[on_diagonal]] = self.d_val[lo:hi][on_diagonal]
        return out

    @property
    def bytes_local(self):
        """Bytes of the stored triangle and the ghost buffers on this rank."""
        arrays = (self.d_ptr, self.d_col, self.d_val, self.o_ptr, self.o_col, self.o_val)
        return sum(a.nbytes for a in arrays) + self.ghost_bytes

    @property
    def ghost_bytes(self):
        """Bytes of the two ghost vectors and (about) the scatter's two buffers."""
        return 4 * self.d_val.itemsize * self.nghosts

    def destroy(self):
        self.mat.destroy()
        self._scatter.destroy()
        self._x_ghost.destroy()
        self._z_ghost.destroy()
        self.d_col = self.d_val = self.o_col = self.o_val = None
