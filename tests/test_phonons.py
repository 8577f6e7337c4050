"""Electrons with a phonon mode per site (Holstein, Hubbard-Holstein): the atomic limit t = 0 in
closed form, small rings against dense matrices built in tests/dense_reference.py, and lattice
symmetries that move each electron site together with its phonon (momentum, spin flip)."""
import numpy as np
import pytest

from dense_reference import DenseSystem

import fockmpi
from fockmpi.app import cli


def dense_holstein(L, nmax, t, omega, g, electrons=False, U=0.0):
    kinds = (["electron"] if electrons else ["fermion"]) * L + [("boson", nmax)] * L
    D = DenseSystem(kinds)
    H = np.zeros((D.dim, D.dim))
    flavors = ("up", "dn") if electrons else (None,)
    for i in range(L):
        j = (i + 1) % L
        if L > 2 or i == 0:  # a dimer has one bond
            for s in flavors:
                h = -t * D.cdag(i, s) @ D.c(j, s)
                H += h + h.T
        b = D.b(L + i)
        H += omega * b.T @ b
        density = sum(D.n(i, s) for s in flavors)
        H += g * density @ (b + b.T)
        if electrons:
            H += U * D.n(i, "up") @ D.n(i, "dn")
    return D, H


def test_holstein_atomic_limit_is_the_displaced_oscillator():
    """t = 0: each occupied site is an oscillator displaced by g/omega, E = m omega - g^2/omega."""
    omega, g = 1.3, 0.6
    model = fockmpi.models.holstein(fockmpi.make_lattice("chain", [3]), nmax=12, t=0.0, omega=omega, g=g)
    found = fockmpi.solve(model, {"N": 2}, nev=4, quiet=True)
    assert np.allclose(found.eigenvalues[:3], -2 * g ** 2 / omega, atol=1e-10)  # C(3, 2) = 3 placements
    assert abs(found.eigenvalues[3] - (omega - 2 * g ** 2 / omega)) < 1e-9


def test_holstein_ring_equals_dense_and_momentum_moves_the_phonons_too():
    L, nmax, t, omega, g = 4, 2, 1.0, 1.0, 0.7
    D, H = dense_holstein(L, nmax, t, omega, g)
    exact = D.sector_eigvals(H, N=1)
    model = fockmpi.models.holstein(fockmpi.make_lattice("chain", [L]), nmax=nmax, t=t, omega=omega, g=g)
    found = fockmpi.solve(model, {"N": 1}, nev=4, quiet=True)
    assert found.basis.dim == len(exact) == L * (nmax + 1) ** L
    assert np.allclose(found.eigenvalues[:4], exact[:4], atol=1e-9)
    dims = 0
    for m in (0, 2):  # real characters
        sol = fockmpi.solve(model, {"N": 1}, symmetries={"momentum": m}, nev=3, quiet=True)
        dims += sol.basis.dim
        for e in sol.eigenvalues:
            assert np.min(np.abs(exact - e)) < 1e-9
        if m == 0:
            assert abs(sol.eigenvalues[0] - exact[0]) < 1e-9  # the polaron ground state has k = 0
    assert dims == len(exact) // 2


def test_hubbard_holstein_dimer_equals_dense_with_spin_flip():
    nmax, t, U, omega, g = 5, 1.0, 2.0, 0.8, 0.5
    D, H = dense_holstein(2, nmax, t, omega, g, electrons=True, U=U)
    exact = D.sector_eigvals(H, N_up=1, N_dn=1)
    model = fockmpi.models.hubbard_holstein(fockmpi.make_lattice("chain", [2], boundary="open"), nmax=nmax, t=t,
                                            U=U, omega=omega, g=g)
    lows = []
    for z in (1, -1):
        sol = fockmpi.solve(model, {"N_up": 1, "N_dn": 1}, symmetries={"spin_flip": z}, nev=3, quiet=True)
        lows.extend(sol.eigenvalues[:3])
    assert np.allclose(np.sort(lows)[:3], exact[:3], atol=1e-9)


JOB = """
[lattice]
type = "chain"
size = [4]
[model]
type = "holstein"
nmax = 2
g = 0.7
[sector]
N = 1
momentum = 0
[solver]
nev = 1
"""


def test_holstein_job_file(tmp_path):
    from fockmpi.io.results import read_results
    path = tmp_path / "h.toml"
    path.write_text(JOB)
    assert cli.main(["run", str(path), "-o", str(tmp_path / "h.h5"), "--quiet"]) == 0
    D, H = dense_holstein(4, 2, 1.0, 1.0, 0.7)
    assert abs(read_results(str(tmp_path / "h.h5"))["eigenvalues"][0] - D.sector_eigvals(H, N=1)[0]) < 1e-9


def test_a_model_space_must_cover_the_lattice_in_whole_layers():
    from fockmpi.errors import OperatorError
    from fockmpi.models.named import Model
    from fockmpi.models.space import Space
    with pytest.raises(OperatorError, match="multiple of 4"):
        Model("x", fockmpi.make_lattice("chain", [4]), Space.uniform("spin", 6), fockmpi.ops.Operator())
