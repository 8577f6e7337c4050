"""Distributed Hamiltonian: a PETSc MPIAIJ matrix whose rows are the basis states of each rank.

Two passes over the local states, in chunks, both in compiled code
(:func:`fockmpi.kernels.build_rows`): the first counts the exact non-zeros of each row in the
diagonal block (columns owned by this rank) and the off-diagonal block, the second writes them
into exactly sized CSR arrays, which PETSc takes over without copying
(``MatCreateMPIAIJWithSplitArrays``).  Peak memory is therefore one copy of the matrix
(12 bytes per non-zero with 32-bit indices and real scalars) plus a chunk of work space.
Column indices come from the basis' ranking tables, so no messages are exchanged.
"""
import numpy as np

from . import kernels
from .errors import CapacityError, FockmpiError
from .parallel import Progress, raise_collectively

CHUNK_ROWS = 1 << 16


class DistributedOperator:
    """A PETSc matrix plus the arrays it borrows (kept alive here) and assembly statistics."""

    def __init__(self, mat, arrays, nnz_local, nnz_global):
        self.mat = mat
        self._arrays = arrays  # PETSc uses these buffers in place: they must outlive ``mat``
        self.nnz_local = nnz_local
        self.nnz_global = nnz_global

    @property
    def bytes_local(self):
        return sum(a.nbytes for group in self._arrays for a in group)

    def destroy(self):
        self.mat.destroy()
        self._arrays = None


def _rows(basis, args, fill, ptrs, outs, progress):
    """Run one pass of the row kernel over the local states in chunks."""
    look = basis.lookup_args()
    n = basis.local_size
    lost = 0
    d_ptr, o_ptr = ptrs
    d_col, d_val, o_col, o_val = outs
    for a in range(0, n, CHUNK_ROWS):
        b = min(n, a + CHUNK_ROWS)
        lost += kernels.build_rows(basis.states[a:b], np.int64(basis.start + a), np.int64(basis.start),
                                   np.int64(basis.end), fill, *args, *look,
                                   d_ptr[a:b + 1], d_col, d_val, o_ptr[a:b + 1], o_col, o_val)
        progress.update((b + (n if fill else 0)) / 2)
    return lost


def assemble_hamiltonian(compiled, basis, comm, PETSc, show_progress=True):
    """Assemble H on ``basis`` as a PETSc MPIAIJ matrix.  Collective on ``comm``.

    Parameters
    ----------
    compiled : CompiledOperator
    basis : U1Basis  (the rows of this rank are ``basis.states``)
    comm : mpi4py communicator (the same ranks as PETSc's)
    PETSc : the initialized petsc4py.PETSc module

    Returns
    -------
    DistributedOperator
    """
    int_t = np.dtype(PETSc.IntType)
    scalar_t = np.dtype(PETSc.ScalarType)
    if compiled.dtype.kind == "c" and scalar_t.kind != "c":
        raise FockmpiError("complex Hamiltonian but real PETSc (the runtime should have chosen a "
                           "complex build)")
    compiled_args = compiled.kernel_args(scalar_t)
    n = basis.local_size
    progress = Progress(comm, "assembly", n, enabled=show_progress)
    counts_d = np.zeros(n + 1, dtype=np.int64)
    counts_o = np.zeros(n + 1, dtype=np.int64)
    dummy_i = np.zeros(0, dtype=int_t)
    dummy_v = np.zeros(0, dtype=scalar_t)
    lost = _rows(basis, compiled_args, False, (counts_d, counts_o), (dummy_i, dummy_v, dummy_i, dummy_v), progress)
    error = None
    if lost:
        error = FockmpiError(f"{lost} matrix elements led outside the sector: a term breaks a charge "
                             "without being detected (please report this)")
    nnz_d, nnz_o = int(counts_d.sum()), int(counts_o.sum())
    if error is None and max(nnz_d, nnz_o) > np.iinfo(int_t).max:
        error = CapacityError(f"this rank holds {max(nnz_d, nnz_o)} non-zeros, beyond the {int_t.itemsize * 8}-bit "
                              "indices of this PETSc build: use more MPI ranks or a 64-bit-index PETSc")
    raise_collectively(comm, error)
    d_ptr = np.cumsum(counts_d).astype(int_t)
    o_ptr = np.cumsum(counts_o).astype(int_t)
    del counts_d, counts_o
    d_col = np.empty(nnz_d, dtype=int_t)
    d_val = np.empty(nnz_d, dtype=scalar_t)
    o_col = np.empty(nnz_o, dtype=int_t)
    o_val = np.empty(nnz_o, dtype=scalar_t)
    _rows(basis, compiled_args, True, (d_ptr, o_ptr), (d_col, d_val, o_col, o_val), progress)
    N = basis.dim
    mat = PETSc.Mat().createAIJWithArrays([(n, N), (n, N)], [(d_ptr, d_col, d_val), (o_ptr, o_col, o_val)],
                                          comm=comm)
    mat.setOption(PETSc.Mat.Option.HERMITIAN, True)
    if scalar_t.kind != "c":
        mat.setOption(PETSc.Mat.Option.SYMMETRIC, True)
    nnz_global = comm.allreduce(nnz_d + nnz_o)
    return DistributedOperator(mat, ((d_ptr, d_col, d_val), (o_ptr, o_col, o_val)), nnz_d + nnz_o, nnz_global)


def matrix_elements_dense(compiled, basis):
    """Dense ``M[r, c] = conj(<c|op|r>)`` on a small single-rank basis (tests).  Not collective.

    For a hermitian operator this is its matrix ``<r|H|c>``.
    """
    n = basis.local_size
    cd = np.zeros(n + 1, dtype=np.int64)
    co = np.zeros(n + 1, dtype=np.int64)
    z = np.zeros(0, dtype=np.int64)
    zv = np.zeros(0, dtype=compiled.coef.dtype)
    args, look = compiled.kernel_args(), basis.lookup_args()
    kernels.build_rows(basis.states, np.int64(basis.start), np.int64(0), np.int64(basis.dim), False,
                       *args, *look, cd, z, zv, co, z, zv)
    ptr = np.cumsum(cd)
    col = np.empty(ptr[-1], dtype=np.int64)
    val = np.empty(ptr[-1], dtype=compiled.coef.dtype)
    kernels.build_rows(basis.states, np.int64(basis.start), np.int64(0), np.int64(basis.dim), True,
                       *args, *look, ptr, col, val, np.cumsum(co), z, zv)
    dense = np.zeros((n, basis.dim), dtype=compiled.coef.dtype)
    rows = np.repeat(np.arange(n), np.diff(ptr))
    dense[rows, col] = val
    return dense
