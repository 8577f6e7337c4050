#!/usr/bin/env python3
"""One benchmark case with QuSpin (run by bench_symmetry.py in its own virtual environment,
.venv-quspin, because QuSpin wants a newer numpy than the Debian PETSc bindings).

    python quspin_case.py CASE   ->  prints one JSON line: dimension, E0, seconds per phase, peak RSS
"""
import json
import resource
import sys
import time


def main(case):
    import numpy as np
    from quspin.basis import (
        spin_basis_1d,
        spinful_fermion_basis_1d,
        spinful_fermion_basis_general,
    )
    from quspin.operators import hamiltonian
    from scipy.sparse.linalg import eigsh
    t0 = time.perf_counter()
    kw = {"check_symm": False, "check_herm": False, "check_pcon": False}
    if case.startswith("heis"):
        L = int(case[4:].replace("u1", ""))
        if case.endswith("u1"):  # the U(1) sector Sz = 0 alone
            basis = spin_basis_1d(L, Nup=L // 2, pauli=0)
        else:
            basis = spin_basis_1d(L, Nup=L // 2, pauli=0, kblock=0, pblock=1, zblock=1)
        J = [[1.0, i, (i + 1) % L] for i in range(L)]
        static = [["+-", [[0.5, i, j] for _, i, j in J]], ["-+", [[0.5, i, j] for _, i, j in J]], ["zz", J]]
    elif case == "hub14":
        L = 14
        basis = spinful_fermion_basis_1d(L, Nf=(L // 2, L // 2), kblock=0)
        hop = [[-1.0, i, (i + 1) % L] for i in range(L)]
        hop_hc = [[+1.0, i, (i + 1) % L] for i in range(L)]
        static = [["+-|", hop], ["-+|", hop_hc], ["|+-", hop], ["|-+", hop_hc],
                  ["n|n", [[4.0, i, i] for i in range(L)]]]
    elif case == "hub4x4":
        Lx = Ly = 4
        N = Lx * Ly
        s = np.arange(N)
        x, y = s % Lx, s // Lx
        T_x = (x + 1) % Lx + Lx * y
        T_y = x + Lx * ((y + 1) % Ly)
        basis = spinful_fermion_basis_general(N, Nf=(N // 2, N // 2), kxblock=(T_x, 0), kyblock=(T_y, 0))
        bonds = [[i, T_x[i]] for i in range(N)] + [[i, T_y[i]] for i in range(N)]
        hop = [[-1.0, i, j] for i, j in bonds]
        hop_hc = [[+1.0, i, j] for i, j in bonds]
        static = [["+-|", hop], ["-+|", hop_hc], ["|+-", hop], ["|-+", hop_hc],
                  ["n|n", [[4.0, i, i] for i in range(N)]]]
    else:
        raise SystemExit(f"unknown case {case}")
    t1 = time.perf_counter()
    H = hamiltonian(static, [], basis=basis, dtype=np.float64, **kw)
    t2 = time.perf_counter()
    E = eigsh(H.tocsr(), k=1, which="SA", tol=1e-8)[0]
    t3 = time.perf_counter()
    print(json.dumps({"case": case, "dimension": int(basis.Ns), "E0": float(E[0]), "basis_s": t1 - t0,
                      "assembly_s": t2 - t1, "solve_s": t3 - t2, "total_s": t3 - t0,
                      "peak_rss_MiB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


if __name__ == "__main__":
    main(sys.argv[1])
