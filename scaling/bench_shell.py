#!/usr/bin/env python3
"""Matrix-free against stored MatMult, with the memory bandwidth measured in the same run.

For each case: the basis, then the stored matrix (MPIAIJ) and the matrix-free operator
(fockmpi.operator.shell) of the same H; --repeat products with each (the median is quoted), a check
that both give the same vector, and a STREAM-like triad (a = b + s c, 24 bytes an element,
every rank at once) for the bandwidth the stored product can at most use.  Times are per
product, in ns per state per rank (product time / local states).

    mpirun -n 2 python scaling/bench_shell.py [--cases heis26 hub4x4] [--repeat 3]
"""
import argparse
import statistics
import sys
import time

import numpy as np
from numba import njit

CASES = {
    "heis26": ({"type": "chain", "size": [26]}, {"type": "heisenberg"}, {"Sz": 0}),
    "hub4x4": ({"type": "square", "size": [4, 4]}, {"type": "hubbard", "U": 4.0},
               {"N_up": 6, "N_dn": 6, "momentum": [0, 0]}),
    "heis20": ({"type": "chain", "size": [20]}, {"type": "heisenberg"}, {"Sz": 0}),  # quick try-out
}


@njit(cache=True)
def _triad(a, b, c, s):
    for i in range(a.shape[0]):
        a[i] = b[i] + s * c[i]


def triad_bandwidth(comm, n=1 << 25, repeat=5):
    """Bytes per second of all ranks together for a = b + s c on 3 arrays of n doubles each."""
    a, b, c = np.zeros(n), np.ones(n), np.full(n, 2.0)
    _triad(a, b, c, 3.0)
    best = []
    for _ in range(repeat):
        comm.Barrier()
        t0 = time.perf_counter()
        _triad(a, b, c, 3.0)
        comm.Barrier()
        best.append(time.perf_counter() - t0)
    return 24.0 * n * comm.size / min(best)


def time_products(mat, x, y, repeat, comm):
    seconds = []
    mat.mult(x, y)  # first product: JIT cache, ghost buffers
    for _ in range(repeat):
        comm.Barrier()
        t0 = time.perf_counter()
        mat.mult(x, y)
        comm.Barrier()
        seconds.append(time.perf_counter() - t0)
    return statistics.median(seconds)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cases", nargs="+", default=["heis26", "hub4x4"], choices=list(CASES))
    p.add_argument("--repeat", type=int, default=3)
    a = p.parse_args()
    from mpi4py import MPI

    from fockmpi import runtime
    from fockmpi.operator.assemble import assemble_hamiltonian
    from fockmpi.basis.symmetric import SymmetricBasis
    from fockmpi.basis.u1 import U1Basis
    from fockmpi.jobfile.table import parse_job
    from fockmpi.app.pipeline import build_problem
    from fockmpi.operator.shell import ShellOperator
    comm = MPI.COMM_WORLD
    PETSc, _ = runtime.init("real")
    say = (lambda *x: print(*x, flush=True)) if comm.rank == 0 else (lambda *x: None)
    bw = triad_bandwidth(comm)
    say(f"{comm.size} rank(s); triad bandwidth {bw / 1e9:.1f} GB/s (all ranks together)")
    say(f"{'case':<8}{'dim':>11}{'nnz/row':>9}{'stored ns/st/rk':>17}{'GB/s':>7}{'% triad':>8}"
        f"{'shell ns/st/rk':>16}{'shell/stored':>13}{'ghosts/local':>13}{'setup s':>9}")
    for name in a.cases:
        lattice, model, sector = CASES[name]
        prob = build_problem(parse_job({"lattice": lattice, "model": model, "sector": sector}))
        basis = (U1Basis(prob.sector, comm.rank, comm.size) if prob.group is None
                 else SymmetricBasis(prob.sector, prob.group, comm))
        stored = assemble_hamiltonian(prob.compiled, basis, comm, PETSc, show_progress=False)
        t0 = time.perf_counter()
        shell = ShellOperator(prob.compiled, basis, comm, PETSc)
        setup = comm.allreduce(time.perf_counter() - t0, op=MPI.MAX)
        x = stored.mat.createVecRight()
        x.setRandom()
        y1, y2 = stored.mat.createVecLeft(), stored.mat.createVecLeft()
        local = comm.allreduce(basis.local_size, op=MPI.MAX)
        t_stored = time_products(stored.mat, x, y1, a.repeat, comm)
        t_shell = time_products(shell.mat, x, y2, a.repeat, comm)
        y1.axpy(-1.0, y2)
        if y1.norm() > 1e-10 * x.norm() * 100:
            raise SystemExit(f"{name}: the two products differ by {y1.norm()}")
        nnz = stored.nnz_global
        moved = 12.0 * nnz + 24.0 * basis.dim  # bytes of one stored product (real, 32-bit indices)
        ghosts = comm.allreduce(shell.nghosts) / basis.dim
        say(f"{name:<8}{basis.dim:>11}{nnz / basis.dim:>9.1f}{t_stored / local * 1e9:>17.2f}"
            f"{moved / t_stored / 1e9:>7.1f}{100 * moved / t_stored / bw:>8.0f}{t_shell / local * 1e9:>16.1f}"
            f"{t_shell / t_stored:>13.1f}{ghosts:>13.2f}{setup:>9.1f}")
        stored.destroy()
        shell.destroy()
        del basis
    return 0


if __name__ == "__main__":
    sys.exit(main())
