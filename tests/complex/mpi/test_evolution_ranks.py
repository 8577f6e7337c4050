"""[evolution] on 1, 2 and 3 ranks against dense matrix exponentials built here (nothing of
fockmpi): a domain wall of the Heisenberg ring (its spin current checks the sign of t) from a
product state, and a Hubbard interaction quench from the ground state of a momentum sector."""
import functools

import numpy as np
import pytest
from dense_reference import hubbard_ring
from scipy.linalg import expm
from test_pipeline import all_ok, dense_heisenberg_chain, run

TIMES = [0.0, 0.4, 1.1, 2.0]


@functools.lru_cache(maxsize=1)
def wall_reference(L=10):
    D, H = dense_heisenberg_chain(L)
    wall = [1] * (L // 2) + [0] * (L // 2)
    psi0 = np.zeros(D.dim, dtype=complex)
    psi0[np.flatnonzero(np.all(D.local_states() == np.array(wall), axis=1))] = 1.0
    c = L // 2 - 1
    current = 1j * (D.spin(c, "+") @ D.spin(c + 1, "-") - D.spin(c, "-") @ D.spin(c + 1, "+"))
    sz0 = D.spin(0, "z")
    out = []
    for t in TIMES:
        psi = expm(-1j * t * H) @ psi0
        out.append((np.vdot(psi, current @ psi).real, np.vdot(psi, sz0 @ psi).real))
    return wall, np.array(out)


@pytest.mark.parametrize("method", ["krylov", "mfn"])
def test_domain_wall_on_ranks(comm, mpi_tmp_path, method):
    L = 10
    wall, ref = wall_reference(L)
    c = L // 2 - 1
    sections = {"lattice": {"type": "chain", "size": [L]}, "model": {"type": "heisenberg"}, "sector": {"Sz": 0},
                "evolution": {"times": TIMES, "initial": wall, "method": method, "tol": 1e-12},
                "observable": [{"name": "current", "op": f"S+_{c} S-_{c + 1}", "coef": [0.0, 1.0], "hc": True},
                               {"name": "Sz0", "op": "Sz_0"}]}
    res, _ = run(comm, mpi_tmp_path, sections, f"wall_{method}")
    ev = res["evolution"]
    err = max(np.abs(ev["observables"]["current"] - ref[:, 0]).max(), np.abs(ev["observables"]["Sz0"] - ref[:, 1]).max())
    all_ok(comm, err < 1e-9, f"domain wall ({method}): off by {err}")
    all_ok(comm, np.abs(ev["energy"] - ev["energy"][0]).max() < 1e-10, "energy conserved")


@functools.lru_cache(maxsize=1)
def quench_reference(n=6):
    D, c, hop, double = hubbard_ring(n)
    q = D.charges()
    keep = np.flatnonzero((q["N_up"] == 3) & (q["N_dn"] == 3))
    H0 = (hop + 4.0 * double).toarray()[np.ix_(keep, keep)]
    H1 = (hop + 1.0 * double).toarray()[np.ix_(keep, keep)]
    dbl = double.toarray()[np.ix_(keep, keep)]
    psi0 = np.linalg.eigh(H0)[1][:, 0]
    return np.array([np.vdot(p, dbl @ p).real for p in (expm(-1j * t * H1) @ psi0 for t in TIMES)])


def test_hubbard_quench_in_a_momentum_sector_on_ranks(comm, mpi_tmp_path):
    ref = quench_reference()
    sections = {"lattice": {"type": "chain", "size": [6]}, "model": {"type": "hubbard", "U": 4.0},
                "sector": {"N_up": 3, "N_dn": 3, "momentum": 0, "reflection": 1}, "solver": {"nev": 1, "tol": 1e-12},
                "evolution": {"times": TIMES, "tol": 1e-12, "model": {"type": "hubbard", "U": 1.0}},
                "observable": [{"name": "double", "op": "n_i,up n_i,dn", "sites": "all"}]}
    res, _ = run(comm, mpi_tmp_path, sections, "hub_quench")
    err = np.abs(res["evolution"]["observables"]["double"] - ref).max()
    all_ok(comm, err < 1e-9, f"double occupancy after the quench: off by {err}")
