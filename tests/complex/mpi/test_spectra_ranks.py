"""[[spectrum]] on 1, 2 and 3 ranks against the Lehmann sum of a dense reference built here
(tests/dense_reference.py, nothing of fockmpi): S^z(q, omega) and S^+-(q, omega) of the
Heisenberg ring, from the momentum sector with reflection and spin flip (the ground state is
written in the basis of the smaller group each q keeps, distributed, then O_q maps it into the
target sector across ranks), and the removal part of the Hubbard ring's spectral function in
the U(1) sector."""
import functools

import numpy as np
from dense_reference import hubbard_ring
from test_pipeline import all_ok, dense_heisenberg_chain, run

OMEGA = np.linspace(-0.5, 5.0, 56)
ETA = 0.15


def lehmann(H, e0, phi, omega, negative=False):
    w, v = np.linalg.eigh(H)
    amp = np.abs(v.conj().T @ phi) ** 2
    x = omega[:, None] - (-1.0 if negative else 1.0) * (w[None, :] - e0)
    return (ETA / np.pi / (x ** 2 + ETA ** 2)) @ amp


@functools.lru_cache(maxsize=1)
def heisenberg_reference(L):
    D, H = dense_heisenberg_chain(L)
    sz = D.charges()["Sz"]
    keep = np.flatnonzero(np.isclose(sz, 0))
    w, v = np.linalg.eigh(H[np.ix_(keep, keep)])
    psi = np.zeros(D.dim)
    psi[keep] = v[:, 0]
    out = {}
    for op, change in (("z", 0), ("+", 1)):
        target = np.flatnonzero(np.isclose(sz, change))
        Ht = H[np.ix_(target, target)]
        for k in range(L):  # (the ground state has k = pi: the momenta q are relative to it)
            Oq = sum(np.exp(2j * np.pi * k * i / L) * D.spin(i, op) for i in range(L)) / np.sqrt(L)
            out[op, k] = lehmann(Ht, w[0], (Oq @ psi)[target], OMEGA)
    return w[0], out


def entry(name, op, **extra):
    return {"name": name, "op": op, "omega": [float(OMEGA[0]), float(OMEGA[-1]), len(OMEGA)], "broadening": ETA,
            **extra}


def test_spin_structure_factor_on_ranks(comm, mpi_tmp_path):
    L = 10
    e0, ref = heisenberg_reference(L)
    sections = {"lattice": {"type": "chain", "size": [L]}, "model": {"type": "heisenberg"},
                "sector": {"Sz": 0, "momentum": 5, "reflection": 1, "spin_flip": -1},  # (L = 10: k = pi)
                "solver": {"nev": 1, "tol": 1e-12},
                "spectrum": [entry("Szz", "Sz_i"), entry("Spm", "S+_i", q=[0, 2, 5])]}
    res, _ = run(comm, mpi_tmp_path, sections, "spectra_heis")
    all_ok(comm, abs(res["eigenvalues"][0] - e0) < 1e-9, "E0")
    szz, spm = res["spectra"]["Szz"], res["spectra"]["Spm"]
    for k in range(L):
        err = np.abs(szz["S"][k] - ref["z", k]).max()
        all_ok(comm, err < 1e-8, f"S^z q={k}: off by {err}")
    for row, k in enumerate([0, 2, 5]):
        err = np.abs(spm["S"][row] - ref["+", k]).max()
        all_ok(comm, err < 1e-8, f"S^+ q={k}: off by {err}")


@functools.lru_cache(maxsize=1)
def hubbard_removal(n=6, U=4.0):
    D, c, hop, double = hubbard_ring(n)
    H = (hop + U * double).tocsr()
    q = D.charges()
    half = np.flatnonzero((q["N_up"] == 3) & (q["N_dn"] == 3))
    minus = np.flatnonzero((q["N_up"] == 3) & (q["N_dn"] == 2))
    w, v = np.linalg.eigh(H[half][:, half].toarray())
    psi = np.zeros(D.dim)
    psi[half] = v[:, 0]
    out = []
    for k in range(n):
        c_k = sum(np.exp(-2j * np.pi * k * i / n) * c[i, "dn"] for i in range(n)) / np.sqrt(n)
        out.append(lehmann(H[minus][:, minus].toarray(), w[0], (c_k @ psi)[minus], OMEGA, negative=True))
    return out


def test_hubbard_removal_spectrum_on_ranks(comm, mpi_tmp_path):
    ref = hubbard_removal()
    sections = {"lattice": {"type": "chain", "size": [6]}, "model": {"type": "hubbard", "U": 4.0},
                "sector": {"N_up": 3, "N_dn": 3}, "solver": {"nev": 1, "tol": 1e-12},
                "spectrum": [entry("A_dn", "cdag_i,dn", branch="negative")]}
    res, _ = run(comm, mpi_tmp_path, sections, "spectra_hub")
    got = res["spectra"]["A_dn"]["S"]
    for k in range(6):
        err = np.abs(got[k] - ref[k]).max()
        all_ok(comm, err < 1e-8, f"A_dn removal k={k}: off by {err}")
