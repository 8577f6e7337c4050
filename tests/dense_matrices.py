"""Dense matrices of fockmpi's own kernels on small single-process bases, and every sector of a
space: helpers of the tests (they check the distributed PETSc path against these, and these
against tests/dense_reference.py, which uses nothing of fockmpi)."""
import itertools

import numpy as np

from fockmpi import kernels
from fockmpi.operator import assemble
from fockmpi.basis.ranking import sector_dimension
from fockmpi.basis.sector import Sector
from fockmpi.errors import SectorError
from fockmpi.models.space import CHARGE_SCALE


def symmetric_matrix_dense(compiled, basis, comm):
    """Dense H (this rank's rows, all columns) on a small symmetric basis (tests).  Collective."""
    dtype = np.complex128 if (compiled.dtype.kind == "c" or not basis.group.is_real) else np.float64
    ptr, cols, val = assemble._symmetric_rows(compiled, basis, basis, comm, np.dtype(dtype), True,
                                              (0, basis.local_size))
    rows = np.repeat(np.arange(basis.local_size), np.diff(ptr))
    keep = cols >= 0
    dense = np.zeros((basis.local_size, basis.dim), dtype=dtype)
    np.add.at(dense, (rows[keep], cols[keep]), val[keep])
    return dense


def matrix_elements_dense(compiled, basis):
    """Dense ``M[r, c] = conj(<c|op|r>)`` on a small single-rank basis (tests).  Not collective.

    For a hermitian operator this is its matrix ``<r|H|c>``.
    """
    n = basis.local_size
    cd = np.zeros(n + 1, dtype=np.int64)
    co = np.zeros(n + 1, dtype=np.int64)
    z = np.zeros(0, dtype=np.int64)
    zv = np.zeros(0, dtype=compiled.coef.dtype)
    terms, look = compiled.terms(), basis.lookup_args()
    kernels.build_rows(basis.states, np.int64(basis.start), np.int64(0), np.int64(basis.dim), kernels.COUNT,
                       True, terms, look, cd, z, zv, co, z, zv)
    ptr = np.cumsum(cd)
    col = np.empty(ptr[-1], dtype=np.int64)
    val = np.empty(ptr[-1], dtype=compiled.coef.dtype)
    kernels.build_rows(basis.states, np.int64(basis.start), np.int64(0), np.int64(basis.dim), kernels.FILL,
                       True, terms, look, ptr, col, val, np.cumsum(co), z, zv)
    dense = np.zeros((n, basis.dim), dtype=compiled.coef.dtype)
    rows = np.repeat(np.arange(n), np.diff(ptr))
    dense[rows, col] = val
    return dense


def all_sectors(space, names):
    """Every non-empty combination of values of the charges ``names`` (for tests and tools)."""
    ranges = []
    for name in names:
        table = space.charge_table(name)
        lo = sum(int(table[i, :s.dim].min()) for i, s in enumerate(space.sites))
        hi = sum(int(table[i, :s.dim].max()) for i, s in enumerate(space.sites))
        ranges.append([v / CHARGE_SCALE.get(name, 1) for v in range(lo, hi + 1)])
    out = []
    for values in itertools.product(*ranges):
        try:
            sector = Sector(space, dict(zip(names, values)))
        except SectorError:
            continue
        if sector_dimension(sector) > 0:
            out.append(sector)
    return out
