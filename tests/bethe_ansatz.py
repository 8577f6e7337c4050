"""Ground-state energy of the spin-1/2 Heisenberg ring from the Bethe ansatz (independent of
fockmpi: numpy and scipy only).

H = J sum_i S_i . S_{i+1} on a ring of N sites (N even), ground state in Sz = 0 with M = N/2
flipped spins.  Rapidities lambda_j (magnon momenta k_j, cot(k_j / 2) = 2 lambda_j) solve

    N arctan(2 lambda_j) = pi I_j + sum_{k != j} arctan(lambda_j - lambda_k),

with the ground state's quantum numbers I_j = -(M - 1)/2, ..., (M - 1)/2, and

    E0 = J N / 4 - J sum_j 2 / (4 lambda_j^2 + 1)

(each magnon lowers the ferromagnetic energy J N / 4 by J (1 - cos k_j)).  Checked against the
4-site ring (E0 = -2 J) and dense diagonalization in tests/test_bethe_ansatz.py.
"""
import warnings

import numpy as np
from scipy.optimize import fsolve


def _residual(lam, quantum_numbers, n):
    diff = np.arctan(lam[:, None] - lam[None, :]).sum(axis=1)
    return n * np.arctan(2 * lam) - np.pi * quantum_numbers - diff


def ground_state_rapidities(n, tol=1e-15):
    """The M = n/2 rapidities of the ground state (fixed-point iteration, then Newton)."""
    if n % 2 or n < 2:
        raise ValueError("the ring needs an even number of sites")
    m = n // 2
    quantum_numbers = np.arange(m) - (m - 1) / 2
    lam = np.zeros(m)
    for _ in range(2000):  # lambda_j = tan((pi I_j + sum_k arctan(lambda_j - lambda_k)) / N) / 2
        new = 0.5 * np.tan((np.pi * quantum_numbers + np.arctan(lam[:, None] - lam[None, :]).sum(axis=1)) / n)
        if np.max(np.abs(new - lam)) < 1e-12:
            lam = new
            break
        lam = 0.5 * lam + 0.5 * new
    with warnings.catch_warnings():  # ("no further improvement": machine precision reached)
        warnings.simplefilter("ignore", RuntimeWarning)
        lam = fsolve(_residual, lam, args=(quantum_numbers, n), xtol=tol)
    if np.max(np.abs(_residual(lam, quantum_numbers, n))) > 1e-10:
        raise RuntimeError(f"the Bethe equations for N = {n} did not converge")
    return lam


def ground_state_energy(n, J=1.0):
    """E0 of the n-site ring (n even), in units of J."""
    lam = ground_state_rapidities(n)
    return J * n / 4 - J * np.sum(2.0 / (4 * lam ** 2 + 1))
