#!/usr/bin/env python3
"""Why a symmetry sector's product stays below the triad bandwidth: one matrix, timed six ways.

For each case the Hamiltonian is assembled on one rank (one core already saturates this
machine's memory bus, ../shared/notes/stack.md, so one rank shows the same share of the triad
as two) and its CSR arrays are swept by compiled passes, each the median of --repeat:

  petsc    PETSc's MatMult of the assembled matrix
  rcm      PETSc's MatMult after renumbering the states by reverse Cuthill-McKee (scipy)
  local    PETSc's MatMult with each row's columns replaced by consecutive ones (same count):
           what the same bytes cost with perfect locality
  product  the CSR product in numba (y = A x; no unrolling, so slower than PETSc's)
  stream   (numba) reads every column index and value once: the bytes a product must move
  gather   (numba) reads x at every column and nothing else: the scattered reads alone

GB/s counts what a product moves (``nnz * (4 + 8) + rows * 8 * 3``: indices, values, row
pointers, x and y once) over its time; the triad (a = b + s c) is measured in the same run.

    python scaling/bench_locality.py [--cases ring24 hub12 heis30 hub4x4] [--repeat 9] [--json F]
"""
import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from numba import njit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

CASES = {  # name: (lattice, model, sector)
    "ring24": ({"type": "chain", "size": [24]}, {"type": "heisenberg"}, {"Sz": 0}),
    "hub12": ({"type": "chain", "size": [12]}, {"type": "hubbard", "U": 4.0}, {"N_up": 6, "N_dn": 6}),
    "heis30": ({"type": "chain", "size": [30]}, {"type": "heisenberg"},
               {"Sz": 0, "momentum": 0, "reflection": 1, "spin_flip": 1}),
    "hub4x4": ({"type": "square", "size": [4, 4]}, {"type": "hubbard", "U": 4.0},
               {"N_up": 6, "N_dn": 6, "momentum": [0, 0]}),
    "square6x6": ({"type": "square", "size": [6, 6]}, {"type": "heisenberg"},
                  {"Sz": 6, "momentum": [0, 0], "point_group": "A1"}),
}


# Three passes of one loop shape, kept apart on purpose: each is what is being timed, and a
# mode switch inside the loop would be timed with it.
@njit(cache=True)
def _product(ptr, col, val, x, y):
    for i in range(y.shape[0]):
        s = 0.0
        for k in range(ptr[i], ptr[i + 1]):
            s += val[k] * x[col[k]]
        y[i] = s


@njit(cache=True)
def _stream(ptr, col, val, x, y):
    for i in range(y.shape[0]):
        s = 0.0
        for k in range(ptr[i], ptr[i + 1]):
            s += val[k] + col[k]
        y[i] = s


@njit(cache=True)
def _gather(ptr, col, val, x, y):
    for i in range(y.shape[0]):
        s = 0.0
        for k in range(ptr[i], ptr[i + 1]):
            s += x[col[k]]
        y[i] = s


@njit(cache=True)
def _consecutive(ptr, n):
    col = np.empty(ptr[-1], dtype=np.int32)
    for i in range(n):
        for k in range(ptr[i], ptr[i + 1]):
            col[k] = (i + k - ptr[i]) % n
    return col


def _median_seconds(f, args, repeat):
    f(*args)
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        f(*args)
        out.append(time.perf_counter() - t0)
    return statistics.median(out)


def matrix_of(case, PETSc):
    """(CSR arrays, PETSc matrix) of a case's H on one rank."""
    from mpi4py import MPI
    from fockmpi.app.pipeline import build_problem
    from fockmpi.basis.symmetric import SymmetricBasis
    from fockmpi.basis.u1 import U1Basis
    from fockmpi.jobfile.table import parse_job
    from fockmpi.operator.assemble import assemble_hamiltonian
    lattice, model, sector = CASES[case]
    p = build_problem(parse_job({"lattice": lattice, "model": model, "sector": sector}))
    comm = MPI.COMM_SELF
    basis = U1Basis(p.sector, 0, 1) if p.group is None else SymmetricBasis(p.sector, p.group, comm)
    op = assemble_hamiltonian(p.compiled, basis, comm, PETSc, show_progress=False)
    ptr, col, val = op.mat.getValuesCSR()
    return (ptr.astype(np.int64), col.astype(np.int32), val), op


def _petsc_seconds(PETSc, ptr, col, val, x, repeat):
    """Median MatMult time of a sequential AIJ copy of the CSR arrays, and its product with x."""
    from bench_shell import time_products
    from mpi4py import MPI
    n = len(ptr) - 1
    mat = PETSc.Mat().createAIJ(size=(n, n), csr=(ptr.astype(PETSc.IntType), col.astype(PETSc.IntType), val),
                                comm=PETSc.COMM_SELF)
    xv, yv = mat.createVecs()
    xv.setArray(x)
    seconds = time_products(mat, xv, yv, repeat, MPI.COMM_SELF)
    y = yv.getArray().copy()
    mat.destroy()
    return seconds, y


def measure(case, PETSc, repeat):
    from scipy.sparse.csgraph import reverse_cuthill_mckee
    import scipy.sparse as sp
    (ptr, col, val), op = matrix_of(case, PETSc)
    op.destroy()
    n, nnz = len(ptr) - 1, len(col)
    x = np.random.default_rng(1).standard_normal(n)
    y = np.empty(n)
    t = {}
    t["petsc"], want = _petsc_seconds(PETSc, ptr, col, val, x, repeat)
    a = sp.csr_matrix((val, col, ptr), shape=(n, n))
    perm = reverse_cuthill_mckee(a, symmetric_mode=True)
    b = a[perm][:, perm].tocsr()
    b.sort_indices()
    del a
    t["rcm"], got = _petsc_seconds(PETSc, b.indptr, b.indices, b.data, x[perm], repeat)
    rcm_same = np.abs(got - want[perm]).max() <= 1e-10 * np.abs(want).max()
    del b, got
    t["local"], _ = _petsc_seconds(PETSc, ptr, _consecutive(ptr, n), val, x, repeat)
    t["product"] = _median_seconds(_product, (ptr, col, val, x, y), repeat)
    same = np.abs(y - want).max() <= 1e-10 * np.abs(want).max()
    t["stream"] = _median_seconds(_stream, (ptr, col, val, x, y), repeat)
    t["gather"] = _median_seconds(_gather, (ptr, col, val, x, y), repeat)
    moved = nnz * 12 + n * 24
    return {"case": case, "rows": n, "nnz": nnz, "x_MB": n * 8 / 1e6, "bytes_per_product": moved,
            "products_agree": bool(same and rcm_same),
            **{f"{k}_ms": 1e3 * v for k, v in t.items()},
            **{f"{k}_GBps": moved / v / 1e9 for k, v in t.items()}}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", nargs="+", default=["ring24", "hub12", "heis30", "hub4x4"], choices=list(CASES))
    ap.add_argument("--repeat", type=int, default=9)
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    from bench_shell import triad_bandwidth
    from mpi4py import MPI
    from fockmpi import runtime
    PETSc, _ = runtime.init("real")
    rows = []
    for case in args.cases:
        triad = triad_bandwidth(MPI.COMM_SELF)
        r = measure(case, PETSc, args.repeat)
        r["triad_GBps"] = triad / 1e9
        rows.append(r)
        print(json.dumps(r), flush=True)
    ways = ("petsc", "rcm", "local", "product", "stream", "gather")
    print("\none rank; ms per pass (share of the triad measured just before each case)")
    print("| case | rows | nnz | x MB | triad GB/s | " + " | ".join(ways) + " |")
    print("|---" * (5 + len(ways)) + "|")
    for r in rows:
        cells = [f"{r[w + '_ms']:.1f} ({100 * r[w + '_GBps'] / r['triad_GBps']:.0f}%)" for w in ways]
        print(f"| {r['case']} | {r['rows']} | {r['nnz']} | {r['x_MB']:.0f} | {r['triad_GBps']:.1f} | "
              + " | ".join(cells) + " |")
    if args.json:
        Path(args.json).write_text(json.dumps({"rows": rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()
