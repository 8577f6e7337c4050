"""Lattice QED in 1+1D (Schwinger model) with Gauss's law as the basis, and the Rydberg blockade
as a constraint: the link form against the eliminated spin form, the strong-coupling limit in
closed form, Gauss-law dimensions counted here by brute force over the product space, dense
matrices built in tests/dense_reference.py and projected here, and the job-file forms."""
import itertools
import math

import numpy as np
import pytest

from dense_reference import DenseSystem
from test_hostile import assert_job_refused

import fockmpi
from fockmpi.app import cli
from fockmpi.errors import SectorError
from fockmpi.models import ops
from fockmpi.models.gauge import schwinger, schwinger_ring, schwinger_spins


@pytest.mark.parametrize("N, x, mu, theta, charges", [(6, 0.6, 0.3, 0.0, None), (8, 1.0, 0.0, 1.2, None),
                                                     (6, 0.8, 0.5, 0.4, (0, 1, 0, 0, -1, 0))])
def test_link_form_equals_the_eliminated_spin_form(N, x, mu, theta, charges):
    links = fockmpi.solve(schwinger(N, x, mu, theta, Lambda=N, static_charges=charges), {"N": N // 2}, nev=3,
                          quiet=True)
    spins = fockmpi.solve(schwinger_spins(N, x, mu, theta, static_charges=charges), {"Sz": 0}, nev=3, quiet=True)
    assert links.basis.dim == spins.basis.dim == math.comb(N, N // 2)
    assert np.allclose(links.eigenvalues[:3], spins.eigenvalues[:3], atol=1e-9)


def test_strong_coupling_limit_is_diagonal():
    """x = 0: W = mu sum (-1)^n n_n + sum (E_n + theta/2pi)^2 on each matter configuration (open,
    E_-1 = 0); the vacuum is W = -mu N/2 + (N-1)(theta/2pi)^2."""
    N, mu, theta = 6, 0.5, 0.7
    levels = []
    for occ in itertools.product((0, 1), repeat=N):
        if sum(occ) != N // 2:
            continue
        E = np.cumsum([o - (n % 2) for n, o in enumerate(occ)])[:-1]
        levels.append(sum(mu * (-1) ** n * o for n, o in enumerate(occ)) + np.sum((E + theta / (2 * np.pi)) ** 2))
    levels = np.sort(levels)
    found = fockmpi.solve(schwinger(N, 0.0, mu, theta, Lambda=3), {"N": N // 2}, nev=4, quiet=True)
    assert abs(found.eigenvalues[0] - (-mu * N / 2 + (N - 1) * (theta / (2 * np.pi)) ** 2)) < 1e-10
    assert np.allclose(found.eigenvalues[:4], levels[:4], atol=1e-10)


def brute_force_gauss_count(N, Lambda, periodic, nf):
    """States of the whole product space (fermions x links of -Lambda..Lambda) that satisfy
    E_n - E_{n-1} = c+_n c_n - (n mod 2) at every site, with nf fermions: counted one by one."""
    nlinks = N if periodic else N - 1
    count = 0
    for occ in itertools.product((0, 1), repeat=N):
        if sum(occ) != nf:
            continue
        for fields in itertools.product(range(-Lambda, Lambda + 1), repeat=nlinks):
            ok = True
            for n in range(N):
                if n == nlinks:      # open chain: no link after the last site
                    continue
                incoming = fields[n - 1] if n > 0 else (fields[-1] if periodic else 0)
                ok &= fields[n] - incoming == occ[n] - n % 2
            count += ok
    return count


@pytest.mark.parametrize("N, Lambda, periodic", [(4, 1, False), (6, 1, False), (4, 1, True), (6, 2, True)])
def test_gauss_law_dimension_is_the_brute_force_count(N, Lambda, periodic):
    model = schwinger(N, 0.7, 0.2, Lambda=Lambda, boundary="periodic" if periodic else "open")
    found = fockmpi.solve(model, {"N": N // 2}, nev=1, quiet=True)
    assert found.basis.dim == brute_force_gauss_count(N, Lambda, periodic, N // 2)
    assert not np.any(model.gauss.violations(model.space, found.basis.packed_states()))


def dense_schwinger(N, x, mu, theta, Lambda=None, spin_links=False, periodic=True):
    """W on the whole product space (links: the unit shift and E, or spin-1/2 quantum links with
    U = S+/sqrt(3/4), E = Sz), projected here onto Gauss's law (E_-1 = E_N-1 on a ring)."""
    nlinks = N if periodic else N - 1
    kinds = ["fermion"] * N + ([("spin", 0.5)] if spin_links else [("link", Lambda)]) * nlinks
    D = DenseSystem(kinds)
    H = np.zeros((D.dim, D.dim))
    for n in range(nlinks):
        m = (n + 1) % N
        U = D.spin(N + n, "+") / math.sqrt(0.75) if spin_links else D.link(N + n, "U")
        E = D.spin(N + n, "z").real if spin_links else D.link(N + n, "E")
        sign = (-1) ** (N // 2) if m == 0 else 1
        h = sign * x * D.cdag(n) @ U @ D.c(m)
        H += h + h.T
        field = E + theta / (2 * np.pi) * np.eye(D.dim)
        H += field @ field
    for n in range(N):
        H += mu * (-1) ** n * D.n(n)
    v = D.local_states()
    occ = v[:, :N]
    fields2 = (2 * v[:, N:] - 1) if spin_links else 2 * (v[:, N:] - Lambda)
    ok = occ.sum(axis=1) == N // 2
    for n in range(N):
        if n < nlinks:
            incoming = fields2[:, n - 1] if n > 0 else fields2[:, -1]
            ok &= fields2[:, n] - incoming == 2 * (occ[:, n] - n % 2)
    return np.linalg.eigvalsh(H[np.ix_(ok, ok)]), int(ok.sum())


@pytest.mark.parametrize("spin_links", [False, True])
def test_periodic_schwinger_equals_the_projected_dense_matrix(spin_links):
    N, x, mu, theta = 4, 0.9, 0.4, 0.5
    exact, dim = dense_schwinger(N, x, mu, theta, Lambda=1, spin_links=spin_links)
    model = schwinger(N, x, mu, theta, boundary="periodic", **({"link_spin": 0.5} if spin_links else {"Lambda": 1}))
    found = fockmpi.solve(model, {"N": N // 2}, nev=3, quiet=True)
    assert found.basis.dim == dim
    assert np.allclose(found.eigenvalues[:3], exact[:3], atol=1e-9)


def test_a_hop_without_its_link_is_refused():
    model = schwinger(4, 1.0, 0.0, Lambda=2) + (0.1 * ops.cdag(0) * ops.c(1)).plus_hc()
    with pytest.raises(SectorError, match="breaks Gauss's law at site"):
        fockmpi.solve(model, {"N": 2}, nev=1, quiet=True)


def fibonacci(n):
    a, b = 2, 3  # open chains of 1 and 2 sites without two adjacent excitations
    for _ in range(n - 1):
        a, b = b, a + b
    return a


def test_rydberg_blockade_dimension_and_spectrum():
    L, Omega, Delta = 8, 1.0, 0.6
    open_chain = fockmpi.make_lattice("chain", [L], boundary="open")
    found = fockmpi.solve(fockmpi.models.rydberg(open_chain, Omega, Delta), {}, nev=3, quiet=True)
    assert found.basis.dim == fibonacci(L) == 55
    D = DenseSystem(["spin"] * L)
    H = sum(Omega * D.spin(i, "x") - Delta * (D.spin(i, "z") + 0.5 * np.eye(D.dim)) for i in range(L)).real
    v = D.local_states()
    allowed = ~np.any(v[:, :-1] & v[:, 1:], axis=1)
    exact = np.linalg.eigvalsh(H[np.ix_(allowed, allowed)])
    assert np.allclose(found.eigenvalues[:3], exact[:3], atol=1e-10)
    ring = fockmpi.models.rydberg(fockmpi.make_lattice("chain", [10]), Omega, Delta)
    dims = [fockmpi.solve(ring, {}, symmetries={"momentum": m}, nev=1, quiet=True).basis.dim for m in (0, 5)]
    assert dims[0] + dims[1] < 123 and dims[0] > 123 // 10  # Lucas(10) = 123 states split over 10 momenta


SCHWINGER_JOB = """
[model]
type = "schwinger"
N = 6
x = 0.6
mu = 0.3
{links}
[sector]
N = 3
[solver]
nev = 2
"""


def job_eigenvalues(path, text):
    """Write the job ``text`` to ``path``, run it, and return the eigenvalues of its results file."""
    from fockmpi.io.results import read_results
    path.write_text(text)
    out = str(path.with_suffix(".h5"))
    assert cli.main(["run", str(path), "-o", out, "--quiet", "--force"]) == 0
    return read_results(out)["eigenvalues"]


def test_schwinger_job_file(tmp_path, capsys):
    path = tmp_path / "s.toml"
    found = job_eigenvalues(path, SCHWINGER_JOB.format(links="Lambda = 3"))
    ref = fockmpi.solve(schwinger_spins(6, 0.6, 0.3), {"Sz": 0}, nev=2, quiet=True).eigenvalues
    assert np.allclose(found[:2], ref[:2], atol=1e-9)
    capsys.readouterr()
    for links, needle in (("", "Lambda (the field cutoff"), ("Lambda = 2\nlink_spin = 1", "one of the two"),
                          ("Lambda = 0", "[model] Lambda")):
        assert_job_refused(capsys, path, SCHWINGER_JOB.format(links=links), needle)


def hand_built_ring(N, x, mu, theta, Lambda, charges):
    """W of the ring with one explicit link, built here state by state from the formula of
    fockmpi.models.gauge (Gauss's law solved for E_0 .. E_N-2 from E_N-1 and the charges), with
    the Jordan-Wigner sign of the closing hop written out: c+_N-1 c_0 on a state with site 0
    full and N-1 empty passes the other nf - 1 fermions, (-1)^(nf - 1)."""
    nf = N // 2 - sum(charges)
    states = [(occ, E) for occ in itertools.product((0, 1), repeat=N) if sum(occ) == nf
              for E in range(-Lambda, Lambda + 1)]
    index = {s: k for k, s in enumerate(states)}
    H = np.zeros((len(states), len(states)))
    for k, (occ, E) in enumerate(states):
        fields = E + np.concatenate([np.cumsum([o - n % 2 + q for n, (o, q) in enumerate(zip(occ, charges))])[:-1],
                                     [0]])
        H[k, k] = np.sum((fields + theta / (2 * np.pi)) ** 2) + mu * sum((-1) ** n * o for n, o in enumerate(occ))
        for n in range(N - 1):  # c+_n c_n+1 + h.c.: neighbours in the Jordan-Wigner order, no sign
            if occ[n] != occ[n + 1]:
                hopped = list(occ)
                hopped[n], hopped[n + 1] = occ[n + 1], occ[n]
                H[index[(tuple(hopped), E)], k] += x
        if occ[0] == 1 and occ[N - 1] == 0 and E < Lambda:  # c+_N-1 U c_0 raises E_N-1
            hopped = (0,) + occ[1:N - 1] + (1,)
            amplitude = (-1) ** (N // 2) * x * (-1) ** (nf - 1)
            H[index[(hopped, E + 1)], k] += amplitude
            H[k, index[(hopped, E + 1)]] += amplitude
    return np.linalg.eigvalsh(H), len(states)


@pytest.mark.parametrize("N, x, mu, theta, Lambda, charges", [(4, 0.8, 0.3, 0.5, 1, (0, 0, 0, 0)),
                                                              (6, 1.3, -0.25, 0.0, 2, (0, 0, 0, 0, 0, 0)),
                                                              (8, 0.6, 0.4, 1.1, 2, (0, 0, 0, 0, 0, 0, 0, 0)),
                                                              (6, 0.7, 0.2, 0.3, 1, (0, 1, 0, -1, 0, 1))])
def test_ring_equals_the_hand_built_matrix(N, x, mu, theta, Lambda, charges):
    exact, dim = hand_built_ring(N, x, mu, theta, Lambda, charges)
    model = schwinger_ring(N, x, mu, theta, Lambda=Lambda, static_charges=charges)
    found = fockmpi.solve(model, model.default_sector, nev=4, quiet=True, tol=1e-12)
    assert found.basis.dim == dim
    assert np.allclose(found.eigenvalues[:4], exact[:4], atol=1e-9)


@pytest.mark.parametrize("N, x, mu, theta, charges", [(4, 0.5, 0.3, 0.4, None), (6, 0.4, -0.25, 1.0, (0, 1, 0, 0, -1, 0))])
def test_ring_equals_the_periodic_link_form(N, x, mu, theta, charges):
    """Eliminating all but the closing link is exact once both cutoffs are out of reach (Lambda = 5
    at x <= 0.5: the truncations differ, the low spectrum agrees to 1e-12)."""
    neutral = {"N": N // 2 - sum(charges or ())}
    links = fockmpi.solve(schwinger(N, x, mu, theta, Lambda=5, boundary="periodic", static_charges=charges), neutral,
                          nev=4, quiet=True, tol=1e-12)
    ring = fockmpi.solve(schwinger_ring(N, x, mu, theta, Lambda=5, static_charges=charges), neutral, nev=4, quiet=True,
                         tol=1e-12)
    assert np.allclose(links.eigenvalues[:4], ring.eigenvalues[:4], atol=1e-10)


def test_ring_is_neutral_only():
    with pytest.raises(SectorError, match="neutral sector only"):
        fockmpi.solve(schwinger_ring(6, 1.0, Lambda=2), {"N": 2}, nev=1, quiet=True)
    with pytest.raises(fockmpi.errors.OperatorError, match="cannot be screened"):
        schwinger_ring(4, 1.0, Lambda=2, static_charges=(3, 0, 0, 0))


RING_JOB = """
[model]
type = "schwinger_ring"
N = 8
x = 2.0
mu = -0.25
{extra}
[solver]
nev = 2
"""


def test_ring_job_file(tmp_path, capsys):
    path = tmp_path / "r.toml"
    found = job_eigenvalues(path, RING_JOB.format(extra="Lambda = 2"))
    exact, _ = hand_built_ring(8, 2.0, -0.25, 0.0, 2, (0,) * 8)
    assert np.allclose(found[:2], exact[:2], atol=1e-9)
    capsys.readouterr()
    assert_job_refused(capsys, path, RING_JOB.format(extra=""), "[model]", "Lambda")
    path.write_text(RING_JOB.format(extra="Lambda = 2\n[sector]\nN = 3"))
    code = cli.main(["run", str(path), "-o", str(tmp_path / "r2.h5"), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and "neutral sector only" in err and "Traceback" not in err
