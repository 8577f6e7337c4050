"""Spin-S sites (S = 1/2 ... 50): local matrices, spin-1 and spin-3/2 chains against dense
spectra built in tests/dense_reference.py (nothing of fockmpi), symmetry sectors, job keys,
and the invariance check, which must judge spin-S operators as spin-S matrices."""

import numpy as np
import pytest

from dense_reference import DenseSystem, spin_matrices
from test_hostile import assert_job_refused

import fockmpi
from fockmpi.app import cli
from fockmpi.errors import OperatorError, SectorError
from fockmpi.models import ops
from fockmpi.models.space import LocalSpace


@pytest.mark.parametrize("S", [0.5, 1, 1.5, 2, 2.5, 7, 50])
def test_local_spin_matrices_are_spin_S(S):
    site = LocalSpace("spin", S=S)
    plus, minus, z = (site.factor_matrix(k, -1) for k in ("S+", "S-", "Sz"))
    assert site.dim == int(2 * S) + 1
    assert np.allclose(plus @ minus - minus @ plus, 2 * z)
    assert np.allclose(0.5 * (plus @ minus + minus @ plus) + z @ z, S * (S + 1) * np.eye(site.dim))
    ref = spin_matrices(S)
    assert all(np.allclose(a, b) for a, b in zip((plus, minus, z), ref))
    assert np.array_equal(site.charges["Sz"], np.round(2 * np.diag(ref[2])).astype(int))


@pytest.mark.parametrize("bad", [0, -1, 0.3, 51, "x", True, "5/3"])
def test_an_impossible_spin_is_refused(bad):
    with pytest.raises(OperatorError, match="a spin S must be one of 1/2, 1, 3/2"):
        LocalSpace("spin", S=bad)


def dense_heisenberg_ring(L, S, D=0.0):
    sys_ = DenseSystem([("spin", S)] * L)
    H = np.zeros((sys_.dim, sys_.dim))
    for i in range(L):
        j = (i + 1) % L
        H += 0.5 * (sys_.spin(i, "+") @ sys_.spin(j, "-") + sys_.spin(i, "-") @ sys_.spin(j, "+"))
        H += sys_.spin(i, "z") @ sys_.spin(j, "z")
        H += D * sys_.spin(i, "z") @ sys_.spin(i, "z")
    return sys_, H


@pytest.mark.parametrize("Sz", [0, 1])
def test_spin1_chain_equals_dense(Sz):
    L, D = 6, 0.3
    ref_sys, H = dense_heisenberg_ring(L, 1, D)
    exact = ref_sys.sector_eigvals(H, Sz=Sz)
    model = fockmpi.models.heisenberg(fockmpi.make_lattice("chain", [L]), S=1, D=D)
    found = fockmpi.solve(model, {"Sz": Sz}, nev=4)  # the multiplet check finds degenerate copies
    assert found.basis.dim == len(exact)
    assert np.allclose(found.eigenvalues[:4], exact[:4], atol=1e-8)


def test_spin1_momentum_sectors_hold_the_dense_levels():
    L = 6
    ref_sys, H = dense_heisenberg_ring(L, 1)
    exact = ref_sys.sector_eigvals(H, Sz=0)
    model = fockmpi.models.heisenberg(fockmpi.make_lattice("chain", [L]), S=1)
    lows = []
    for m in (0, L // 2):  # real characters (the process may run real scalars)
        found = fockmpi.solve(model, {"Sz": 0}, symmetries={"momentum": m}, nev=3, complete_multiplets=False)
        for e in found.eigenvalues[:3]:
            assert np.min(np.abs(exact - e)) < 1e-8
        lows.append(found.eigenvalues[0])
    assert abs(min(lows) - exact[0]) < 1e-8  # the ground state of the even spin-1 ring has k = 0
    assert abs(lows[0] - exact[0]) < 1e-8


def test_spin_three_halves_flip_sectors_are_the_Sz0_spectrum():
    L = 4
    ref_sys, H = dense_heisenberg_ring(L, 1.5)
    exact = ref_sys.sector_eigvals(H, Sz=0)
    model = fockmpi.models.heisenberg(fockmpi.make_lattice("chain", [L]), S="3/2")
    found, dims = [], 0
    for z in (1, -1):
        sol = fockmpi.solve(model, {"Sz": 0}, symmetries={"spin_flip": z}, nev=4, complete_multiplets=False)
        found.extend(sol.eigenvalues[:4])
        dims += sol.basis.dim
    assert dims == len(exact)
    assert np.allclose(np.sort(found)[:4], exact[:4], atol=1e-8)


def test_an_operator_odd_under_flip_only_for_spin_above_half_is_not_called_invariant():
    """Sz^3 - Sz/4 vanishes for spin 1/2 (where Sz^2 = 1/4) but not for spin 3/2, and is odd
    under S^z -> -S^z: a check with spin-1/2 rules would let the flip sector through and
    solve the wrong problem."""
    lattice = fockmpi.make_lattice("chain", [4])
    model = fockmpi.models.heisenberg(lattice, S="3/2")
    odd = ops.Operator()
    for i in range(4):
        odd += 0.3 * (ops.Sz(i) * ops.Sz(i) * ops.Sz(i) - 0.25 * ops.Sz(i))
    assert odd.is_zero()  # spin-1/2 algebra: what the symbolic check would have seen
    with pytest.raises(SectorError, match="not invariant under the symmetry 'spin_flip'"):
        fockmpi.solve(model + odd, {"Sz": 0}, symmetries={"spin_flip": 1}, nev=1)


def test_spin_flip_on_spin1_is_refused_clearly():
    model = fockmpi.models.heisenberg(fockmpi.make_lattice("chain", [4]), S=1)
    with pytest.raises(SectorError, match="spin flip on spin-1 sites is not supported"):
        fockmpi.solve(model, {"Sz": 0}, symmetries={"spin_flip": 1}, nev=1)


def test_half_integer_Sz_on_an_odd_spin1_chain_is_refused():
    model = fockmpi.models.heisenberg(fockmpi.make_lattice("chain", [5]), S=1)
    with pytest.raises(SectorError, match="impossible on sites of 5 spin-1 sites: Sz must be integer"):
        fockmpi.solve(model, {"Sz": 0.5}, nev=1)


JOB = """
[lattice]
type = "chain"
size = [6]
[model]
type = "heisenberg"
S = {S}
D = 0.3
[sector]
Sz = 1
[solver]
nev = 2
"""


def test_job_file_spin_key(tmp_path, capsys):
    path = tmp_path / "s1.toml"
    path.write_text(JOB.format(S='"1"'))
    out = tmp_path / "s1.h5"
    assert cli.main(["run", str(path), "-o", str(out), "--quiet"]) == 0
    from fockmpi.io.results import read_results
    found = read_results(str(out))["eigenvalues"]
    ref_sys, H = dense_heisenberg_ring(6, 1, 0.3)
    assert np.allclose(found[:2], ref_sys.sector_eigvals(H, Sz=1)[:2], atol=1e-8)
    capsys.readouterr()
    assert_job_refused(capsys, path, JOB.format(S="0.7"), "[model] S", "a spin 1/2, 1, 3/2")
