#!/usr/bin/env python3
"""Matrix-vector products to converge: fockmpi's eigensolver against ARPACK (scipy eigsh).

For each case fockmpi assembles H (one rank, MPIAIJ), scipy's ``eigsh`` runs on the same matrix
(a CSR copy, products counted by a LinearOperator), and fockmpi's solver runs with the same nev
and tolerance (both are relative residuals: ARPACK stops at ||r|| <= tol |theta|, SLEPc's
default criterion is ||r|| / |lambda| <= tol).  Reported: products, seconds, the lowest
eigenvalues of both, and the ratio of products (fockmpi / ARPACK).  fockmpi runs without the
multiplet check (ARPACK has none); its default subspace and ARPACK's (max(2 nev + 1, 20)) are
both shown.

    python scaling/bench_solver.py [--cases heis24 hub12] [--tol 1e-10] [--json out.json]
"""
import argparse
import json
import sys
import time

import numpy as np

CASES = {
    "heis20": ({"type": "chain", "size": [20]}, {"type": "heisenberg"}, {"Sz": 0}),
    "heis24": ({"type": "chain", "size": [24]}, {"type": "heisenberg"}, {"Sz": 0}),
    "hub12": ({"type": "chain", "size": [12]}, {"type": "hubbard", "U": 4.0}, {"N_up": 6, "N_dn": 6}),
    "hub4x4": ({"type": "square", "size": [4, 4]}, {"type": "hubbard", "U": 4.0},
               {"N_up": 5, "N_dn": 5, "momentum": [0, 0]}),
    "j1j2_24": ({"type": "chain", "size": [24]}, {"type": "heisenberg", "J2": 0.5}, {"Sz": 0}),
}


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cases", nargs="+", default=["heis20", "hub12", "heis24", "j1j2_24"], choices=list(CASES))
    p.add_argument("--nev", nargs="+", type=int, default=[1, 4])
    p.add_argument("--tol", type=float, default=1e-10)
    p.add_argument("--json", default=None)
    a = p.parse_args()
    import scipy.sparse as sp
    from scipy.sparse.linalg import LinearOperator, eigsh
    from mpi4py import MPI

    from fockmpi import runtime
    from fockmpi.app.pipeline import build_problem
    from fockmpi.basis.symmetric import SymmetricBasis
    from fockmpi.basis.u1 import U1Basis
    from fockmpi.jobfile.table import parse_job
    from fockmpi.operator.assemble import assemble_hamiltonian
    from fockmpi.solvers.eigen import SolverSettings, default_ncv, solve
    comm = MPI.COMM_WORLD
    if comm.size != 1:
        raise SystemExit("run on one rank: ARPACK is serial here")
    PETSc, SLEPc = runtime.init("real")
    PETSc.Log.begin()  # (products are counted by PETSc's MatMult event, as in fockmpi run)
    rows = []
    print(f"{'case':<9}{'dim':>10}{'nev':>4}{'ARPACK mv':>10}{'s':>7}{'fockmpi mv':>11}{'s':>7}{'ratio':>7}"
          f"{'ncv=ARPACK mv':>14}{'ratio':>7}   max |E - E_ARPACK|", flush=True)
    for name in a.cases:
        lattice, model, sector = CASES[name]
        prob = build_problem(parse_job({"lattice": lattice, "model": model, "sector": sector}))
        basis = U1Basis(prob.sector, 0, 1) if prob.group is None else SymmetricBasis(prob.sector, prob.group, comm)
        op = assemble_hamiltonian(prob.compiled, basis, comm, PETSc, show_progress=False)
        indptr, indices, values = op.mat.getValuesCSR()
        H = sp.csr_matrix((values, indices, indptr), shape=(basis.dim, basis.dim))
        for nev in a.nev:
            count = [0]

            def matvec(v):
                count[0] += 1
                return H @ v
            lin = LinearOperator(H.shape, matvec=matvec, dtype=H.dtype)
            v0 = np.random.default_rng(7).standard_normal(basis.dim)
            t0 = time.perf_counter()
            ref = np.sort(eigsh(lin, k=nev, which="SA", tol=a.tol, v0=v0, return_eigenvectors=False))
            t_arpack = time.perf_counter() - t0
            out = {}
            for label, ncv in (("default", 0), ("arpack_ncv", max(2 * nev + 1, 20))):
                settings = SolverSettings(nev=nev, tol=a.tol, ncv=ncv, complete_multiplets=False)
                found = solve(op, settings, comm, PETSc, SLEPc, show_progress=False)
                out[label] = (found.matvecs, found.seconds, found.values[:nev])
            err = max(np.max(np.abs(out[k][2] - ref)) for k in out)
            mv, t, _ = out["default"]
            row = {"case": name, "dim": basis.dim, "nev": nev, "tol": a.tol, "arpack_matvecs": count[0],
                   "arpack_seconds": t_arpack, "fockmpi_matvecs": mv, "fockmpi_seconds": t,
                   "fockmpi_ncv": default_ncv(nev), "ratio": mv / count[0],
                   "fockmpi_arpack_ncv_matvecs": out["arpack_ncv"][0], "fockmpi_arpack_ncv_seconds": out["arpack_ncv"][1],
                   "ratio_arpack_ncv": out["arpack_ncv"][0] / count[0], "max_eigenvalue_difference": err,
                   "E0": float(ref[0])}
            rows.append(row)
            print(f"{name:<9}{basis.dim:>10}{nev:>4}{count[0]:>10}{t_arpack:>7.2f}{mv:>11}{t:>7.2f}"
                  f"{row['ratio']:>7.2f}{out['arpack_ncv'][0]:>14}{row['ratio_arpack_ncv']:>7.2f}   {err:.1e}",
                  flush=True)
        op.destroy()
    if a.json:
        with open(a.json, "w") as f:
            json.dump(rows, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
