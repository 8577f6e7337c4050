"""Product spaces on 1, 2 and 3 ranks: the Rabi parity sectors (a constrained basis over the
whole spin x mode space), Jaynes-Cummings N_exc sectors (ranked U(1) states), and explicit
Dicke spins (parity with 2^N (nmax+1) / 2 states), stored and matrix-free, against dense
matrices built from tests/dense_reference.py on every rank."""
import numpy as np
import pytest
from test_light_matter import dense_rabi, jc_exact
from test_pipeline import all_ok

import fockmpi



@pytest.mark.parametrize("storage", ["aij", "shell"])
def test_rabi_parity_on_ranks(comm, storage):
    rt = fockmpi.Runtime.start("real")
    D, H = dense_rabi(20, 1.0, 1.1, 0.6)
    q = D.charges()["N_exc"].astype(int)
    for parity in (1, -1):
        keep = q % 2 == (0 if parity == 1 else 1)
        exact = np.linalg.eigvalsh(H[np.ix_(keep, keep)])[:3]
        found = fockmpi.solve(fockmpi.models.rabi(nmax=20, Delta=1.1, g=0.6), {"N_exc_parity": parity}, nev=3,
                              storage=storage, quiet=True, runtime=rt)
        all_ok(comm, found.basis.dim == keep.sum(), "dimension")
        all_ok(comm, np.allclose(found.eigenvalues[:3], exact, atol=1e-9), f"parity {parity}: {found.eigenvalues}")


def test_jaynes_cummings_and_dicke_on_ranks(comm):
    rt = fockmpi.Runtime.start("real")
    jc = fockmpi.models.jaynes_cummings(nmax=12, Delta=0.8, g=0.3)
    for n in (3, 7):
        found = fockmpi.solve(jc, {"N_exc": n}, nev=2, quiet=True, runtime=rt)
        all_ok(comm, np.allclose(found.eigenvalues, jc_exact(n, 1.0, 0.8, 0.3), atol=1e-10), f"N_exc {n}")
    explicit = fockmpi.solve(fockmpi.models.dicke(4, 12, g=0.6), {"N_exc_parity": 1}, nev=1, quiet=True, runtime=rt)
    collective = fockmpi.solve(fockmpi.models.dicke(4, 12, g=0.6, collective=True), {"N_exc_parity": 1}, nev=1,
                               quiet=True, runtime=rt)
    all_ok(comm, explicit.basis.dim == 16 * 13 // 2, "explicit Dicke dimension")
    all_ok(comm, abs(explicit.eigenvalues[0] - collective.eigenvalues[0]) < 1e-8, "explicit = collective")



def test_spin1_and_holstein_symmetry_sectors_on_ranks(comm):
    """Spin-1 momentum sectors and Holstein momentum sectors (translations moving every phonon
    with its site) on ranks: their levels are levels of the dense matrix."""
    from test_phonons import dense_holstein
    from test_spin_s import dense_heisenberg_ring
    rt = fockmpi.Runtime.start("real")
    ref_sys, H = dense_heisenberg_ring(6, 1)
    exact = ref_sys.sector_eigvals(H, Sz=0)
    found = fockmpi.solve(fockmpi.models.heisenberg(fockmpi.make_lattice("chain", [6]), S=1), {"Sz": 0},
                          symmetries={"momentum": 0}, nev=2, quiet=True, runtime=rt)
    all_ok(comm, abs(found.eigenvalues[0] - exact[0]) < 1e-9, "spin-1 ground state at k = 0")
    D, H = dense_holstein(4, 2, 1.0, 1.0, 0.7)
    exact = D.sector_eigvals(H, N=1)
    model = fockmpi.models.holstein(fockmpi.make_lattice("chain", [4]), nmax=2, t=1.0, omega=1.0, g=0.7)
    for m in (0, 2):
        sol = fockmpi.solve(model, {"N": 1}, symmetries={"momentum": m}, nev=2, quiet=True, runtime=rt)
        all_ok(comm, all(np.min(np.abs(exact - e)) < 1e-9 for e in sol.eigenvalues), f"Holstein k index {m}")
