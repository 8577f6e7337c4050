#!/usr/bin/env python3
"""Quick kernel check: time per row of the assembly kernels, and of the upper-triangle product
(:func:`fockmpi.kernels.upper_product`), against their recorded figures.

Run after every change to fockmpi/kernels.py (``make check-kernels``).  Each case builds its
basis once, then assembles the Hamiltonian ``--repeat`` times on one rank (warm JIT cache) and
takes the median time per row; a ``*_upper_product`` case assembles the upper triangle once
and takes the median of ``10 x --repeat`` products.  Exits with status 1, loudly, when a case is more than
``--factor`` (2) times slower than its figure in scaling/kernel_figures.json (a clean-up that
merged two helpers once made the U(1) row kernel 5-10x slower, unnoticed for a week).

    python scaling/check_kernels.py                # check against the recorded figures
    python scaling/check_kernels.py --record       # write this machine's figures
    PYTHONPATH=/path/to/other/checkout python scaling/check_kernels.py --no-check   # compare

The figures are machine-specific: record them again on a new machine kind, in a quiet moment.
"""
import argparse
import json
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
FIGURES = os.path.join(HERE, "kernel_figures.json")

CASES = {
    "heis20_u1": ({"type": "chain", "size": [20]}, {"type": "heisenberg"}, {"Sz": 0}),
    "hub10_u1": ({"type": "chain", "size": [10]}, {"type": "hubbard", "U": 4.0}, {"N_up": 5, "N_dn": 5}),
    "heis24_kzp": ({"type": "chain", "size": [24]}, {"type": "heisenberg"},
                   {"Sz": 0, "momentum": 0, "reflection": 1, "spin_flip": 1}),
    "hub4x3_k0": ({"type": "square", "size": [4, 3]}, {"type": "hubbard", "U": 4.0},
                  {"N_up": 4, "N_dn": 4, "momentum": [0, 0]}),
    # (numba's negative-index wrap-around once made this loop 1.4x slower: docs/benchmarks.md)
    "heis22_u1_upper_product": ({"type": "chain", "size": [22]}, {"type": "heisenberg"}, {"Sz": 0}),
}


def time_case(name, repeat):
    """Median seconds per row of assembling case ``name`` (and the dimension)."""
    from mpi4py import MPI

    from fockmpi import runtime
    from fockmpi.operator.assemble import assemble_hamiltonian
    from fockmpi.basis.symmetric import SymmetricBasis
    from fockmpi.basis.u1 import U1Basis
    from fockmpi.jobfile.table import parse_job
    from fockmpi.app.pipeline import build_problem
    lattice, model, sector = CASES[name]
    problem = build_problem(parse_job({"lattice": lattice, "model": model, "sector": sector}))
    comm = MPI.COMM_WORLD
    PETSc, _ = runtime.init("real" if problem.group is None or problem.group.is_real else "complex")
    if problem.group is None:
        basis = U1Basis(problem.sector, comm.rank, comm.size)
    else:
        basis = SymmetricBasis(problem.sector, problem.group, comm, show_progress=False)
    seconds = []
    if name.endswith("_upper_product"):
        op = assemble_hamiltonian(problem.compiled, basis, comm, PETSc, show_progress=False, symmetric_storage=True)
        x, y = op.mat.createVecRight(), op.mat.createVecLeft()
        x.setRandom()
        for k in range(10 * repeat + 1):  # (the first one loads the JIT cache)
            t0 = time.perf_counter()
            op.mat.mult(x, y)
            if k:
                seconds.append(time.perf_counter() - t0)
        op.destroy()
        return statistics.median(seconds) / basis.dim, basis.dim
    for k in range(repeat + 1):  # the first one compiles or loads the JIT cache
        t0 = time.perf_counter()
        op = assemble_hamiltonian(problem.compiled, basis, comm, PETSc, show_progress=False)
        if k:
            seconds.append(time.perf_counter() - t0)
        op.destroy()
    return statistics.median(seconds) / basis.dim, basis.dim


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cases", nargs="+", default=list(CASES), choices=list(CASES))
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--factor", type=float, default=2.0, help="fail when slower than this times the figure")
    p.add_argument("--record", action="store_true", help="write the measured figures")
    p.add_argument("--no-check", action="store_true", help="only print the figures")
    a = p.parse_args()
    recorded = json.load(open(FIGURES)) if os.path.exists(FIGURES) else {}
    measured, slow = {}, []
    print(f"{'case':<24}{'dimension':>12}{'ns/row':>10}{'recorded':>10}{'ratio':>8}")
    for name in a.cases:
        per_row, dim = time_case(name, a.repeat)
        ns = per_row * 1e9
        measured[name] = round(ns, 1)
        ref = recorded.get(name)
        ratio = ns / ref if ref else float("nan")
        print(f"{name:<24}{dim:>12}{ns:>10.1f}{ref if ref else '-':>10}{ratio:>8.2f}", flush=True)
        if ref and ratio > a.factor:
            slow.append(f"{name}: {ns:.0f} ns per row, {ratio:.1f}x the recorded {ref} ns")
    if a.record:
        recorded.update(measured)
        with open(FIGURES, "w") as f:
            json.dump(recorded, f, indent=1, sort_keys=True)
            f.write("\n")
        print(f"recorded in {FIGURES}")
    if slow and not a.no_check and not a.record:
        print("\n" + "!" * 78 + "\nKERNEL REGRESSION: " + "; ".join(slow) +
              f"\n(more than {a.factor}x the figures in scaling/kernel_figures.json: find the change that "
              "did it before anything lands)\n" + "!" * 78, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
