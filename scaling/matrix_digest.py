"""The stored matrix of a job's sector: a digest of each rank's CSR block and its MatMult time.

Two checkouts that give the same digests assemble byte-identical matrices (row pointers,
columns in order, values), so any difference in their MatMult time is the machine's, not the
code's.  Runs against the current layout and against the one before the re-cut (1be915c and
earlier), so the comparison can be repeated:

    mpirun -n 2 python scaling/matrix_digest.py JOB.toml [--repeat 30]
    PYTHONPATH=/path/to/other/checkout mpirun -n 2 python scaling/matrix_digest.py JOB.toml

Symmetric sectors only (the U(1) rows are compared by scaling/bench_against.py).
"""
import argparse
import hashlib
import os
import sys
import time


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("job")
    ap.add_argument("--repeat", type=int, default=30, help="MatMults timed (default 30)")
    args = ap.parse_args()
    try:  # the layout by concept
        import fockmpi
        from fockmpi.app.pipeline import build_problem
        from fockmpi.basis import SymmetricBasis
        from fockmpi.jobfile.table import load_job
        from fockmpi.operator.assemble import assemble_hamiltonian
        runtime = fockmpi.Runtime.start()
        comm, PETSc = runtime.comm, runtime.PETSc
        layout = "re-cut"
    except (ImportError, AttributeError):  # 1be915c and before
        from fockmpi import _runtime
        from fockmpi.assemble import assemble_hamiltonian
        from fockmpi.basis import SymmetricBasis
        from fockmpi.config import load_job
        from fockmpi.parallel import world
        from fockmpi.pipeline import build_problem
        PETSc, _ = _runtime.init("real")
        comm = world()
        layout = "before the re-cut"
    problem = build_problem(load_job(args.job))
    if problem.group is None:
        sys.exit("matrix_digest: the job names no symmetry sector")
    t0 = time.perf_counter()
    basis = SymmetricBasis(problem.sector, problem.group, comm)
    t1 = time.perf_counter()
    op = assemble_hamiltonian(problem.compiled, basis, comm, PETSc, show_progress=False)
    t2 = time.perf_counter()
    x, y = op.mat.createVecs()
    x.set(1.0)
    op.mat.mult(x, y)
    comm.Barrier()
    t3 = time.perf_counter()
    for _ in range(args.repeat):
        op.mat.mult(x, y)
    per_mult = comm.allgather((time.perf_counter() - t3) / args.repeat)
    nnz = op.mat.getInfo()["nz_used"]  # collective, like every call below: never under rank 0 alone
    norm = y.norm()
    indptr, cols, vals = op.mat.getValuesCSR()
    digests = comm.gather(hashlib.sha256(indptr.tobytes() + cols.tobytes() + vals.tobytes()).hexdigest()[:12])
    if comm.rank == 0:
        print(f"{layout} ({os.path.dirname(os.path.dirname(os.path.abspath(fockmpi_file())))}): dim {basis.dim} "
              f"basis {t1 - t0:.2f} s assembly {t2 - t1:.2f} s MatMult {1e3 * max(per_mult):.1f} ms "
              f"nnz {int(nnz)} |H 1| {norm:.12g} CSR per rank {' '.join(digests)}", flush=True)


def fockmpi_file():
    import fockmpi
    return fockmpi.__file__


if __name__ == "__main__":
    main()
