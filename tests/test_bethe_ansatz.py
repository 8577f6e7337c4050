"""The Bethe-ansatz reference (tests/bethe_ansatz.py) against dense diagonalization, and fockmpi's
ground state of the Heisenberg ring in its symmetric sector against the Bethe ansatz."""
import numpy as np
import pytest
from bethe_ansatz import ground_state_energy
from dense_reference import DenseSystem

import fockmpi
from fockmpi import models
from fockmpi.app.solve import solve


@pytest.mark.parametrize("n", [4, 6, 8, 10, 12])
def test_bethe_ansatz_matches_dense_diagonalization(n):
    D = DenseSystem(["spin"] * n)
    H = sum(D.spin(i, a) @ D.spin((i + 1) % n, a) for i in range(n) for a in "xyz")
    exact = np.linalg.eigvalsh(H)[0]
    assert abs(ground_state_energy(n) - exact) < 1e-11, (n, ground_state_energy(n), exact)


def test_the_four_site_ring_by_hand():
    assert abs(ground_state_energy(4) + 2.0) < 1e-13  # (S_total^2 - sum of pairs): E0 = -2 J


@pytest.mark.parametrize("storage", ["aij", "upper"])
def test_ring_ground_state_in_its_symmetric_sector_equals_the_bethe_ansatz(storage):
    n = 20  # N/2 even: the ground state has momentum 0, reflection +1, spin flip +1
    found = solve(models.heisenberg(fockmpi.make_lattice("chain", [n])), {"Sz": 0},
                  symmetries={"momentum": 0, "reflection": 1, "spin_flip": 1}, tol=1e-12, storage=storage)
    assert found.storage == storage
    assert abs(found.eigenvalues[0] - ground_state_energy(n)) < 1e-10, (found.eigenvalues[0], ground_state_energy(n))
