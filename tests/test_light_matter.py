"""Light-matter models on product spaces (spins x a boson mode): the Jaynes-Cummings spectrum
in closed form, Rabi against a dense matrix built here (tests/dense_reference.py) and
converged in the cutoff, Tavis-Cummings and Dicke with explicit spins against the collective
spin, the parity sectors exp(i pi N_exc), and the job-file forms."""
import numpy as np
import pytest

from dense_reference import DenseSystem
from test_hostile import assert_job_refused

import fockmpi
from fockmpi.app import cli
from fockmpi.errors import SectorError
from fockmpi.models import ops


def jc_exact(n_exc, omega, Delta, g):
    """Jaynes-Cummings levels with n_exc excitations: -Delta/2 for 0, else
    omega (n - 1/2) +- sqrt((Delta - omega)^2 / 4 + g^2 n) with n = n_exc."""
    if n_exc == 0:
        return np.array([-Delta / 2])
    root = np.sqrt((Delta - omega) ** 2 / 4 + g ** 2 * n_exc)
    return np.array([omega * (n_exc - 0.5) - root, omega * (n_exc - 0.5) + root])


@pytest.mark.parametrize("n_exc", [0, 1, 2, 5, 9])
def test_jaynes_cummings_is_the_closed_form(n_exc):
    omega, Delta, g = 1.0, 0.8, 0.3
    model = fockmpi.models.jaynes_cummings(nmax=12, omega=omega, Delta=Delta, g=g)
    found = fockmpi.solve(model, {"N_exc": n_exc}, nev=2, quiet=True)
    assert found.basis.dim == (1 if n_exc == 0 else 2)
    assert np.allclose(found.eigenvalues, jc_exact(n_exc, omega, Delta, g), atol=1e-10)


def dense_rabi(nmax, omega, Delta, g):
    D = DenseSystem(["spin", ("boson", nmax)])
    a = D.b(1)
    H = omega * a.T @ a + Delta * D.spin(0, "z") + g * 2 * D.spin(0, "x") @ (a + a.T)
    return D, H


def test_rabi_parity_sectors_equal_dense_and_converge_in_the_cutoff():
    omega, Delta, g = 1.0, 1.3, 0.7   # deep in the ultrastrong regime: the cutoff matters
    D, H = dense_rabi(30, omega, Delta, g)
    q = D.charges()["N_exc"]
    lows = {}
    for parity in (1, -1):
        keep = (q.astype(int) % 2 == 0) if parity == 1 else (q.astype(int) % 2 == 1)
        exact = np.linalg.eigvalsh(H[np.ix_(keep, keep)])[:3]
        model = fockmpi.models.rabi(nmax=30, omega=omega, Delta=Delta, g=g)
        found = fockmpi.solve(model, {"N_exc_parity": parity}, nev=3, quiet=True)
        assert found.basis.dim == keep.sum() == 31
        assert np.allclose(found.eigenvalues[:3], exact, atol=1e-9)
        lows[parity] = found.eigenvalues[:3]
        bigger = fockmpi.solve(fockmpi.models.rabi(nmax=45, omega=omega, Delta=Delta, g=g),
                               {"N_exc_parity": parity}, nev=3, quiet=True)
        assert np.allclose(bigger.eigenvalues[:3], found.eigenvalues[:3], atol=1e-9)  # converged at 30
    full = np.linalg.eigvalsh(H)[:4]
    assert np.allclose(np.sort(np.concatenate(list(lows.values())))[:4], full, atol=1e-9)
    assert lows[1][0] < lows[-1][0]  # the ground state has even parity


def test_tavis_cummings_explicit_spins_contain_the_collective_spectrum():
    N, nmax, n_exc = 4, 6, 3
    explicit = fockmpi.solve(fockmpi.models.tavis_cummings(N, nmax, Delta=0.9, g=0.6), {"N_exc": n_exc},
                             nev=6, quiet=True)
    collective = fockmpi.solve(fockmpi.models.tavis_cummings(N, nmax, Delta=0.9, g=0.6, collective=True),
                               {"N_exc": n_exc}, nev=3, quiet=True)
    assert collective.basis.dim == n_exc + 1  # |j=2, m> |n> with m + 2 + n = 3
    assert abs(collective.eigenvalues[0] - explicit.eigenvalues[0]) < 1e-9  # ground state: j = N/2
    for e in collective.eigenvalues:
        assert np.min(np.abs(explicit.eigenvalues - e)) < 1e-9 or e > explicit.eigenvalues[-1]


def test_dicke_explicit_spins_equal_the_collective_spin_at_the_bottom():
    N, nmax = 4, 24
    for parity in (1, -1):
        explicit = fockmpi.solve(fockmpi.models.dicke(N, nmax, Delta=1.0, g=0.7), {"N_exc_parity": parity},
                                 nev=2, quiet=True)
        collective = fockmpi.solve(fockmpi.models.dicke(N, nmax, Delta=1.0, g=0.7, collective=True),
                                   {"N_exc_parity": parity}, nev=2, quiet=True)
        assert explicit.basis.dim == 2 ** N * (nmax + 1) // 2
        assert collective.basis.dim == (N + 1) * (nmax + 1) // 2 + (parity == 1 and (N + 1) * (nmax + 1) % 2)
        assert abs(explicit.eigenvalues[0] - collective.eigenvalues[0]) < 1e-8


def test_a_term_that_breaks_the_parity_is_refused():
    model = fockmpi.models.rabi(nmax=10, g=0.5) + 0.1 * ops.Sx(0)
    with pytest.raises(SectorError, match="changes N_exc by an odd amount"):
        fockmpi.solve(model, {"N_exc_parity": 1}, nev=1, quiet=True)


RABI_JOB = """
{lattice}
[model]
type = "rabi"
nmax = 30
Delta = 1.3
g = 0.7
[sector]
{sector}
[solver]
nev = 2
"""


def test_rabi_job_file(tmp_path, capsys):
    from fockmpi.io.results import read_results
    path = tmp_path / "rabi.toml"
    path.write_text(RABI_JOB.format(lattice="", sector="N_exc_parity = 1"))
    out = tmp_path / "rabi.h5"
    assert cli.main(["run", str(path), "-o", str(out), "--quiet"]) == 0
    D, H = dense_rabi(30, 1.0, 1.3, 0.7)
    even = D.charges()["N_exc"].astype(int) % 2 == 0
    assert np.allclose(read_results(str(out))["eigenvalues"][:2],
                       np.linalg.eigvalsh(H[np.ix_(even, even)])[:2], atol=1e-9)
    capsys.readouterr()
    for lattice, sector, needles in (
            ('[lattice]\ntype = "chain"\nsize = [2]', "N_exc_parity = 1", ["[lattice]", "defines its own sites"]),
            ("", "N_exc_parity = 2", ["[sector] N_exc_parity", "1, -1"]),
            ("", "Sz_parity = 1", ["Sz_parity", "not a Z2 charge"]),
            ("", "N_exc = 2", ["changes N_exc by +2"])):
        assert_job_refused(capsys, path, RABI_JOB.format(lattice=lattice, sector=sector), *needles)


MIXED = """
[lattice]
type = "custom"
sites = 3
[model]
type = "custom"
[[model.sites]]
kind = "spin"
S = 1
sites = [0]
[[model.sites]]
kind = "spin"
sites = [1]
[[model.sites]]
kind = "boson"
nmax = 8
sites = [2]
[[model.term]]
op = "bdag_2 b_2"
[[model.term]]
op = "Sz_0"
coef = 0.7
[[model.term]]
op = "Sz_1"
[[model.term]]
op = "S+_0 b_2"
coef = 0.2
hc = true
[[model.term]]
op = "S+_1 b_2"
coef = 0.3
hc = true
[sector]
N_exc = 3
[solver]
nev = 3
"""


def test_a_job_with_a_local_space_per_site(tmp_path, capsys):
    """A spin-1, a spin-1/2 and a mode in one basis, operator strings on each, N_exc combining
    both spins and the mode: against the dense matrix."""
    from fockmpi.io.results import read_results
    D = DenseSystem([("spin", 1), "spin", ("boson", 8)])
    b = D.b(2)
    H = b.T @ b + 0.7 * D.spin(0, "z") + D.spin(1, "z")
    for site, g in ((0, 0.2), (1, 0.3)):
        h = g * D.spin(site, "+") @ b
        H = H + h + h.T
    exact = D.sector_eigvals(H, N_exc=3)
    path = tmp_path / "mixed.toml"
    path.write_text(MIXED)
    assert cli.main(["run", str(path), "-o", str(tmp_path / "m.h5"), "--quiet"]) == 0
    found = read_results(str(tmp_path / "m.h5"))
    assert np.allclose(found["eigenvalues"][:3], exact[:3], atol=1e-10) and len(exact) == 6
    capsys.readouterr()
    for old, new, needles in (
            ("sites = [1]", "sites = [0]", ["site 0 is already given"]),
            ("sites = [2]", "sites = [3]", ["no local space for site 2"]),
            ("S = 1\n", "S = 1\nnmax = 3\n", ["unknown key 'nmax'"]),
            ('kind = "boson"', 'kind = "photon"', ["[[model.sites]] #3 kind", "boson"]),
            ('op = "S+_1 b_2"', 'op = "S+_2 b_1"', ["S+", "site 2", "boson"])):
        assert_job_refused(capsys, path, MIXED.replace(old, new, 1), *needles)
