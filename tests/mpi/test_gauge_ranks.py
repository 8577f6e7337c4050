"""Gauss-law and blockade bases on 1, 2 and 3 ranks: every rank enumerates its own block of the
matter configurations, the states are sorted across ranks, and the spectrum is that of the
eliminated spin form (Schwinger) and of the projected dense matrix (Rydberg), stored and
matrix-free."""
import numpy as np
import pytest
from test_gauge import brute_force_gauss_count, fibonacci
from test_pipeline import all_ok

import fockmpi
from fockmpi.models.gauge import schwinger, schwinger_ring, schwinger_spins


@pytest.mark.parametrize("storage", ["aij", "shell"])
def test_schwinger_on_ranks(comm, storage):
    rt = fockmpi.Runtime.start("real")
    links = fockmpi.solve(schwinger(8, 0.7, 0.3, 0.5, Lambda=4), {"N": 4}, nev=3, storage=storage, quiet=True,
                          runtime=rt)
    spins = fockmpi.solve(schwinger_spins(8, 0.7, 0.3, 0.5), {"Sz": 0}, nev=3, quiet=True, runtime=rt)
    all_ok(comm, links.basis.dim == 70 and sum(comm.allgather(links.basis.local_size)) == 70, "dimension")
    all_ok(comm, np.allclose(links.eigenvalues[:3], spins.eigenvalues[:3], atol=1e-9), "link = spin form")
    ring = fockmpi.solve(schwinger(6, 0.7, 0.3, Lambda=2, boundary="periodic"), {"N": 3}, nev=1, storage=storage,
                         quiet=True, runtime=rt)
    all_ok(comm, ring.basis.dim == brute_force_gauss_count(6, 2, True, 3), "periodic dimension")
    fp = comm.allgather(ring.basis.fingerprint())
    all_ok(comm, len(set(fp)) == 1, "one fingerprint")
    reduced = fockmpi.solve(schwinger_ring(6, 0.4, -0.25, 1.0, Lambda=5), {"N": 3}, nev=3, storage=storage,
                            quiet=True, runtime=rt, tol=1e-12)
    links = fockmpi.solve(schwinger(6, 0.4, -0.25, 1.0, Lambda=5, boundary="periodic"), {"N": 3}, nev=3,
                          storage=storage, quiet=True, runtime=rt, tol=1e-12)
    all_ok(comm, np.allclose(reduced.eigenvalues[:3], links.eigenvalues[:3], atol=1e-10), "ring = link form")


def test_rydberg_on_ranks(comm):
    from dense_reference import DenseSystem
    rt = fockmpi.Runtime.start("real")
    L = 10
    chain = fockmpi.make_lattice("chain", [L], boundary="open")
    found = fockmpi.solve(fockmpi.models.rydberg(chain, 1.0, 0.6), {}, nev=2, quiet=True, runtime=rt)
    all_ok(comm, found.basis.dim == fibonacci(L), "Fibonacci dimension")
    D = DenseSystem(["spin"] * L)  # every rank builds the projected dense matrix (1024 states)
    H = sum(D.spin(i, "x") - 0.6 * (D.spin(i, "z") + 0.5 * np.eye(D.dim)) for i in range(L)).real
    v = D.local_states()
    allowed = ~np.any(v[:, :-1] & v[:, 1:], axis=1)
    exact = np.linalg.eigvalsh(H[np.ix_(allowed, allowed)])
    all_ok(comm, np.allclose(found.eigenvalues[:2], exact[:2], atol=1e-10), "ranks = dense")
