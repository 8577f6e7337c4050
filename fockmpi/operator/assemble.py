"""Distributed operators as PETSc MPIAIJ matrices whose rows are the basis states of each rank:
the Hamiltonian (rows and columns one basis, hermitian), or an operator ``A`` between two bases
(rows in the left basis, columns in the right one: ``c^dag_k`` from N to N+1 particles,
``S^+_q`` from Sz to Sz+1), built from the compiled adjoint ``A^dag``.

The rows are built in compiled code (:func:`fockmpi.kernels.build_rows`), in chunks of local
states, as CSR arrays split into the diagonal block (columns owned by this rank) and the
off-diagonal block, which PETSc takes over without copying (``MatCreateMPIAIJWithSplitArrays``),
so the matrix exists once (12 bytes per non-zero with 32-bit indices and real scalars) and
PETSc never reallocates.  Two ways to size the arrays exactly:

* two passes: count the non-zeros of every row exactly, then fill arrays of that size (never
  more address space than the matrix; used when memory is tight);
* one pass (default when it fits): write rows one after another into arrays reserved for the
  largest possible row length (number of off-diagonal monomials + 1); untouched pages are never
  backed by memory, and PETSc gets views of exactly the used part.  Half the work.
Column indices come from the basis' ranking tables, so no messages are exchanged.
"""
import os

import numpy as np

from .. import kernels
from ..basis.u1 import U1Basis
from ..errors import CapacityError, FockmpiError
from ..parallel import Progress, raise_collectively, ranks_on_this_node, release_free_memory


CHUNK_ROWS = 1 << 16

SYMMETRIC_CHUNK_ROWS = 1 << 14  # rows per collective lookup in symmetric assembly


class DistributedOperator:
    """A PETSc matrix plus the arrays it borrows (kept alive here) and assembly statistics."""

    def __init__(self, mat, arrays, nnz_local, nnz_global, one_pass=False):
        self.mat = mat
        self.one_pass = one_pass
        self._arrays = arrays  # PETSc uses these buffers in place: they must outlive ``mat``
        self.nnz_local = nnz_local
        self.nnz_global = nnz_global
        self.traffic = None  # what one product moves between ranks (operator.traffic.Traffic)

    @property
    def bytes_local(self):
        """Bytes of the matrix arrays in use on this rank (views count their used part)."""
        return sum(a.nbytes for group in self._arrays for a in group)

    def destroy(self):
        self.mat.destroy()
        self._arrays = None


def _rows(left, right, terms, square, mode, ptrs, outs, progress, passes, upper=False):
    """Run the row kernel over the local states in chunks (``passes`` scales the progress).
    ``upper`` (APPEND only): keep each chunk's upper triangle, compacted in place.  Returns the
    number of elements that left the sector and of diagonal entries kept (``upper``)."""
    look = right.lookup_args()
    n = left.local_size
    lost = ndiag = 0
    d_ptr, o_ptr = ptrs
    d_col, d_val, o_col, o_val = outs
    done0 = n if mode == kernels.FILL and passes == 2 else 0
    for a in range(0, n, CHUNK_ROWS):
        b = min(n, a + CHUNK_ROWS)
        lost += kernels.build_rows(left.states[a:b], np.int64(left.start + a), np.int64(right.start),
                                   np.int64(right.end), mode, square, terms, look,
                                   d_ptr[a:b + 1], d_col, d_val, o_ptr[a:b + 1], o_col, o_val)
        if upper and mode == kernels.APPEND:
            ndiag += kernels.keep_upper(d_ptr[a:b + 1], d_col, d_val, o_ptr[a:b + 1], o_col, o_val,
                                        np.int64(left.start + a), np.int64(right.start))
        progress.update((done0 + b) / passes)
    return lost, ndiag


def _reservable(nbytes, comm):
    """Whether ``nbytes`` of address space per rank may be reserved for the one-pass build.

    Only touched pages cost memory, so the reservation may exceed the matrix; it must stay
    well inside the node's memory in case the row bound is nearly reached.
    """
    ranks_here = ranks_on_this_node(comm)
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):
        return False
    return nbytes <= total / (2 * ranks_here)


def _reserve(bound, int_t, scalar_t):
    """(columns, values) of the diagonal and off-diagonal blocks, ``bound`` entries each, as
    address space only (pages are backed when written); None if it cannot be reserved."""
    try:
        return (np.empty(bound, dtype=int_t), np.empty(bound, dtype=scalar_t),
                np.empty(bound, dtype=int_t), np.empty(bound, dtype=scalar_t))
    except MemoryError:
        return None


def assemble_hamiltonian(compiled, basis, comm, PETSc, show_progress=True, one_pass=None,
                         symmetric_storage=False):
    """Assemble H on ``basis`` as a PETSc MPIAIJ matrix, marked hermitian (or, with
    ``symmetric_storage``, its upper triangle).  Collective on ``comm``.

    Parameters
    ----------
    compiled : CompiledOperator
    basis : a :class:`fockmpi.basis.Basis` (the rows of this rank are ``basis.states``): a
        U1Basis ranks its columns locally, the others (symmetric, constrained) look them up
        collectively
    comm : mpi4py communicator (the same ranks as PETSc's)
    PETSc : the initialized petsc4py.PETSc module
    one_pass : bool or None
        ``True``: write the rows once into arrays reserved for the largest possible row
        lengths (untouched pages cost no memory); ``False``: count every row exactly first,
        then fill arrays of the exact size (two passes, never more address space than the
        matrix); ``None``: one pass when the reservation fits comfortably in memory.
    symmetric_storage : bool
        keep the upper triangle only (:class:`~fockmpi.operator.upper.UpperOperator`): half the
        memory.  The rows are cut to it chunk by chunk as they are built, so the whole
        matrix never exists.

    Returns
    -------
    DistributedOperator (or UpperOperator)
    """
    return assemble_rows(compiled, basis, basis, comm, PETSc, square=True, show_progress=show_progress,
                         one_pass=one_pass, upper=symmetric_storage)


def assemble_rows(compiled, left, right, comm, PETSc, square, show_progress=True, one_pass=None, upper=False):
    """The MPIAIJ matrix ``M[l, r] = conj(<r|B|l>)`` with rows from ``left`` and columns from
    ``right``, where ``B`` is ``compiled``.  Collective on ``comm``.

    ``square`` (``left is right`` and ``B`` hermitian): ``M = B``, marked hermitian.  Otherwise
    ``B = A^dag`` gives ``M = A`` between the two bases (see :func:`fockmpi.operator.between.operator_between`,
    which checks the sectors first).  Both bases are U(1) bases, or both enumerated bases over
    the same symmetry group.  ``upper``: the upper triangle only (``square``;
    :func:`assemble_hamiltonian`).
    """
    if upper and not square:
        raise FockmpiError("the upper triangle alone describes only a hermitian matrix on one basis")
    if not isinstance(left, U1Basis):  # an enumerated basis: columns by a collective lookup
        return _assemble_symmetric(compiled, left, right, comm, PETSc, show_progress, square, upper)
    int_t = np.dtype(PETSc.IntType)
    scalar_t = np.dtype(PETSc.ScalarType)
    if compiled.dtype.kind == "c" and scalar_t.kind != "c":
        raise FockmpiError("complex operator but real PETSc (the runtime should have chosen a "
                           "complex build)")
    terms = compiled.terms(scalar_t)
    n = left.local_size
    row_bound = compiled.max_row_length()
    bound = n * row_bound
    entry = int_t.itemsize + scalar_t.itemsize
    if one_pass is None:
        # a row's entries go to one block or the other, so at most bound * entry bytes are
        # ever touched, however the address space of the two blocks is reserved
        one_pass = bound < np.iinfo(int_t).max and _reservable(bound * entry, comm)
    reserved = _reserve(bound, int_t, scalar_t) if one_pass else None
    one_pass = bool(comm.allreduce(reserved is not None, op=_land()))
    progress = Progress(comm, "assembly", n, enabled=show_progress)
    d_ptr = np.zeros(n + 1, dtype=int_t if one_pass else np.int64)
    o_ptr = np.zeros(n + 1, dtype=int_t if one_pass else np.int64)
    error = None
    if one_pass:
        d_col, d_val, o_col, o_val = reserved
        lost, ndiag = _rows(left, right, terms, square, kernels.APPEND, (d_ptr, o_ptr), (d_col, d_val, o_col, o_val),
                            progress, 1, upper)
        nnz_d, nnz_o = int(d_ptr[-1]), int(o_ptr[-1])
        d_col, d_val, o_col, o_val = d_col[:nnz_d], d_val[:nnz_d], o_col[:nnz_o], o_val[:nnz_o]
    else:
        none_i, none_v = np.zeros(0, dtype=int_t), np.zeros(0, dtype=scalar_t)
        lost, _ = _rows(left, right, terms, square, kernels.COUNT, (d_ptr, o_ptr), (none_i, none_v, none_i, none_v),
                        progress, 2)
        nnz_d, nnz_o = int(d_ptr.sum()), int(o_ptr.sum())
        if max(nnz_d, nnz_o) > np.iinfo(int_t).max:
            error = CapacityError(f"this rank holds {max(nnz_d, nnz_o)} non-zeros, beyond the "
                                  f"{int_t.itemsize * 8}-bit indices of this PETSc build: use more MPI "
                                  "ranks or a 64-bit-index PETSc")
    if lost:
        error = FockmpiError(f"{lost} matrix elements led outside the sector: a term breaks a charge "
                             "without being detected (please report this)")
    raise_collectively(comm, error)
    if not one_pass:
        reserved = None
        d_ptr = np.cumsum(d_ptr).astype(int_t)
        o_ptr = np.cumsum(o_ptr).astype(int_t)
        d_col, d_val = np.empty(nnz_d, dtype=int_t), np.empty(nnz_d, dtype=scalar_t)
        o_col, o_val = np.empty(nnz_o, dtype=int_t), np.empty(nnz_o, dtype=scalar_t)
        _rows(left, right, terms, square, kernels.FILL, (d_ptr, o_ptr), (d_col, d_val, o_col, o_val), progress, 2)
        if upper:  # (rows were sized for the whole row: compact them all at once)
            ndiag = kernels.keep_upper(d_ptr, d_col, d_val, o_ptr, o_col, o_val, np.int64(left.start),
                                       np.int64(right.start))
            d_col, d_val = d_col[:d_ptr[-1]], d_val[:d_ptr[-1]]
            o_col, o_val = o_col[:o_ptr[-1]], o_val[:o_ptr[-1]]
    del reserved
    return _operator(PETSc, comm, (left.dim, right.dim), (d_ptr, d_col, d_val), (o_ptr, o_col, o_val), one_pass,
                     hermitian=square, local_cols=right.local_size, upper=upper,
                     ndiag=ndiag if upper else 0)


def group_arrays(basis, scalar_t):
    """The group arrays of a symmetric basis for the kernels, the characters cast to the
    scalar type (real PETSc: the sector's characters are real)."""
    group = basis.group_args
    if np.dtype(scalar_t).kind != "c":
        group = group._replace(chars=group.chars.real.copy())
    return group


def _symmetric_rows(compiled, left, right, comm, scalar_t, square, rows, upper=False):
    """CSR rows ``(ptr, global columns, values)`` on enumerated bases (rows from ``left``,
    columns from ``right``); ``upper`` (``square``): only the columns from the row's own on.

    Collective.  The kernel gives the rows with representative *states* as columns; one
    batched lookup (two all-to-alls) turns them into global indices; states the irrep
    annihilates are not found (column -1; their entries vanish in exact arithmetic).
    """
    terms = compiled.terms(scalar_t)
    group = group_arrays(right, scalar_t)
    a, b = rows
    bound = compiled.max_row_length()
    ptr = np.zeros(b - a + 1, dtype=np.int64)
    st = np.empty((b - a) * bound, dtype=np.uint64)  # untouched pages cost no memory
    val = np.empty((b - a) * bound, dtype=scalar_t)
    kernels.build_symmetric_rows(left.states[a:b], left.norms[a:b], square, upper and square, terms, group, ptr, st,
                                 val)
    nnz = int(ptr[-1])
    cols = right.index_of(st[:nnz], comm)
    return ptr, cols, val[:nnz]


def _assemble_symmetric(compiled, left, right, comm, PETSc, show_progress, square, upper=False):
    """H on a symmetric basis as MPIAIJ (columns of a row come sorted from the kernel).

    Rows are built, looked up and split in chunks (every rank the same number of chunks, since
    the lookup is collective), so the transient arrays stay small.  The diagonal and
    off-diagonal blocks are written chunk by chunk into arrays reserved for the largest possible
    row length (untouched pages cost no memory; PETSc gets views of the used part), or, where
    that reservation would not fit comfortably, kept as pieces and joined at the end.
    ``upper``: each chunk is cut to its upper triangle first.
    """
    int_t = np.dtype(PETSc.IntType)
    scalar_t = np.dtype(PETSc.ScalarType)
    if (compiled.dtype.kind == "c" or not (left.group.is_real and right.group.is_real)) and scalar_t.kind != "c":
        raise FockmpiError("this sector needs complex scalars but PETSc is real (the runtime should "
                           "have chosen a complex build)")
    n = left.local_size
    chunk = max(1, min(SYMMETRIC_CHUNK_ROWS, (1 << 22) // compiled.max_row_length()))
    nchunks = comm.allreduce(-(-n // chunk), op=_max())
    bound = n * compiled.max_row_length()
    reserved = None
    if bound < np.iinfo(int_t).max and _reservable(bound * (int_t.itemsize + scalar_t.itemsize), comm):
        reserved = _reserve(bound, int_t, scalar_t)
    d_ptr = np.zeros(n + 1, dtype=int_t)
    o_ptr = np.zeros(n + 1, dtype=int_t)
    d_parts, o_parts = [], []
    progress = Progress(comm, "assembly", n, enabled=show_progress)
    lo, hi = np.int64(right.start), np.int64(right.end)
    none_i, none_v = np.zeros(0, dtype=int_t), np.zeros(0, dtype=scalar_t)
    ndiag = 0
    for c in range(nchunks):
        a, b = min(n, c * chunk), min(n, (c + 1) * chunk)
        ptr, cols, val = _symmetric_rows(compiled, left, right, comm, scalar_t, square, rows=(a, b), upper=upper)
        if upper:  # (the kernel gave no column left of its row: the basis ascends with the states)
            row_of = np.repeat(np.arange(left.start + a, left.start + b, dtype=np.int64), np.diff(ptr))
            ndiag += int(np.count_nonzero(cols == row_of))
            del row_of
        dp = np.zeros(b - a + 1, dtype=np.int64)
        op = np.zeros(b - a + 1, dtype=np.int64)
        kernels.split_rows(ptr, cols, val, lo, hi, dp, op, none_i, none_v, none_i, none_v)
        dp, op = np.cumsum(dp), np.cumsum(op)
        d0, o0 = int(d_ptr[a]), int(o_ptr[a])
        if reserved is not None:  # straight into the final arrays
            dc, dv = reserved[0][d0:d0 + dp[-1]], reserved[1][d0:d0 + dp[-1]]
            oc, ov = reserved[2][o0:o0 + op[-1]], reserved[3][o0:o0 + op[-1]]
        else:
            dc, dv = np.empty(dp[-1], dtype=int_t), np.empty(dp[-1], dtype=scalar_t)
            oc, ov = np.empty(op[-1], dtype=int_t), np.empty(op[-1], dtype=scalar_t)
            d_parts.append((dc, dv))
            o_parts.append((oc, ov))
        kernels.split_rows(ptr, cols, val, lo, hi, dp, op, dc, dv, oc, ov)
        d_ptr[a + 1:b + 1] = d0 + dp[1:]
        o_ptr[a + 1:b + 1] = o0 + op[1:]
        del ptr, cols, val
        release_free_memory()
        progress.update(b)
    if reserved is not None:
        nnz_d, nnz_o = int(d_ptr[-1]), int(o_ptr[-1])
        d_col, d_val, o_col, o_val = reserved[0][:nnz_d], reserved[1][:nnz_d], reserved[2][:nnz_o], reserved[3][:nnz_o]
    else:
        d_col, d_val = _join(d_parts, int_t, scalar_t)
        o_col, o_val = _join(o_parts, int_t, scalar_t)
    del reserved
    return _operator(PETSc, comm, (left.dim, right.dim), (d_ptr, d_col, d_val), (o_ptr, o_col, o_val),
                     one_pass=True, hermitian=square, local_cols=right.local_size, upper=upper, ndiag=ndiag)


def _join(parts, int_t, scalar_t):
    """Concatenate (columns, values) pieces, releasing each piece as it is copied.  The result's
    pages are touched only as pieces arrive, and each piece is handed back to the system once
    copied, so this needs the matrix plus one piece, not twice the matrix."""
    total = sum(len(c) for c, _ in parts)
    col, val = np.empty(total, dtype=int_t), np.empty(total, dtype=scalar_t)
    k = 0
    parts.reverse()
    while parts:
        c, v = parts.pop()
        col[k:k + len(c)], val[k:k + len(c)] = c, v
        k += len(c)
        del c, v
        release_free_memory()
    return col, val


def _max():
    from mpi4py import MPI
    return MPI.MAX


def _operator(PETSc, comm, dims, diag, offdiag, one_pass, hermitian, local_cols, upper=False, ndiag=0):
    """MPIAIJ from this rank's split CSR blocks (PETSc borrows the arrays; they are kept alive
    by the returned operator), of global size ``dims`` (rows, columns), ``local_cols`` of the
    columns owned here (the right basis' local size); ``hermitian``: marked
    hermitian (and symmetric for real scalars).  ``upper``: the blocks hold the upper triangle
    (``ndiag`` diagonal entries): an :class:`~fockmpi.operator.upper.UpperOperator` on them."""
    n = len(diag[0]) - 1
    if upper:
        from .upper import UpperOperator
        stored = len(diag[1]) + len(offdiag[1])
        return UpperOperator(diag, offdiag, n, dims[0], comm.allreduce(2 * stored - ndiag), comm, PETSc, one_pass)
    from .traffic import distinct_off_block
    # (before PETSc takes the arrays: it turns the off-diagonal block's global columns into ghost
    # positions in place)
    col_offsets = np.concatenate([[0], np.cumsum(comm.allgather(int(local_cols)))])
    traffic = distinct_off_block(offdiag[1], col_offsets, comm.rank)
    mat = PETSc.Mat().createAIJWithArrays([(n, dims[0]), (local_cols, dims[1])], [diag, offdiag], comm=comm)
    if hermitian:
        mat.setOption(PETSc.Mat.Option.HERMITIAN, True)
        if np.dtype(PETSc.ScalarType).kind != "c":
            mat.setOption(PETSc.Mat.Option.SYMMETRIC, True)
    nnz_local = len(diag[1]) + len(offdiag[1])
    built = DistributedOperator(mat, (diag, offdiag), nnz_local, comm.allreduce(nnz_local), one_pass)
    built.traffic = traffic
    return built


def _land():
    from mpi4py import MPI
    return MPI.LAND
