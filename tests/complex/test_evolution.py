"""[evolution]: exp(-iHt)|psi> against dense matrix exponentials built here (tests/dense_reference.py,
nothing of fockmpi) and against the exact single-particle solution of free fermions; energy and
norm conserved; a quench from a ground state in U(1) and momentum sectors; checkpoint and resume;
bad input refused before the basis is built."""
import functools

import numpy as np
import pytest
from dense_reference import DenseSystem, hubbard_ring
from scipy.linalg import expm

from clear_errors import assert_refused
from ring_job import RING

from fockmpi.app import cli
from fockmpi.io.results import read_results

# (the ring's job with an [evolution] table before the other entries)
JOB = RING.replace("{entries}", "[evolution]\ntimes = {times}\n{evolution}\n{entries}")


def run(tmp_path, capsys, name, model, couplings, sector, evolution, entries="", L=8, times="{ stop = 3.0, points = 7 }",
        args=()):
    job = tmp_path / f"{name}.toml"
    job.write_text(JOB.format(L=L, model=model, couplings=couplings, sector=sector, times=times, evolution=evolution,
                              entries=entries))
    out = tmp_path / f"{name}.h5"
    code = cli.main(["run", str(job), "-o", str(out), "-q", *args])
    _, err = capsys.readouterr()
    assert code == 0, err
    return read_results(str(out))


def site_observables(op, n):
    return "".join(f'[[observable]]\nname = "{op.split("_")[0]}{i}"\nop = "{op.replace("_i", f"_{i}")}"\n'
                   for i in range(n))


@functools.lru_cache(maxsize=1)
def heisenberg_dense(L=8):
    D = DenseSystem(["spin"] * L)
    S = {(i, a): D.spin(i, a) for i in range(L) for a in "+-z"}
    H = sum(S[i, "z"] @ S[(i + 1) % L, "z"] + 0.5 * (S[i, "+"] @ S[(i + 1) % L, "-"] + S[i, "-"] @ S[(i + 1) % L, "+"])
            for i in range(L))
    return D, H, S


CURRENT = '[[observable]]\nname = "current"\nop = "S+_3 S-_4"\ncoef = [0.0, 1.0]\nhc = true\n'


@pytest.mark.parametrize("method", ["krylov", "mfn"])
def test_domain_wall_against_dense_expm(tmp_path, capsys, method):
    """A domain wall |11110000> melts; its spin current i(S+_3 S-_4 - h.c.) is odd under time
    reversal, so it also checks the sign of t."""
    L = 8
    wall = [1, 1, 1, 1, 0, 0, 0, 0]
    res = run(tmp_path, capsys, f"wall_{method}", "heisenberg", "", "Sz = 0",
              f'initial = {wall}\nmethod = "{method}"\ntol = 1e-12', site_observables("Sz_i", L) + CURRENT)
    ev = res["evolution"]
    D, H, S = heisenberg_dense(L)
    v = D.local_states()
    psi0 = np.zeros(D.dim, dtype=complex)
    psi0[np.flatnonzero(np.all(v == np.array(wall), axis=1))] = 1.0
    current = 1j * (S[3, "+"] @ S[4, "-"] - S[3, "-"] @ S[4, "+"])
    for k, t in enumerate(ev["times"]):
        psi = expm(-1j * t * H) @ psi0
        for i in range(L):
            ref = np.vdot(psi, S[i, "z"] @ psi).real
            assert ev["observables"][f"Sz{i}"][k] == pytest.approx(ref, abs=1e-9), (t, i)
        assert ev["observables"]["current"][k] == pytest.approx(np.vdot(psi, current @ psi).real, abs=1e-9), t
    assert abs(ev["observables"]["current"][1]) > 0.1

    assert np.allclose(ev["energy"], ev["energy"][0], atol=1e-10) and ev["energy"][0] == pytest.approx(1.0)
    assert np.allclose(ev["norm"], 1.0, atol=1e-10)
    assert ev["method"] == method and ev["products"] > 0


def test_free_fermion_quench_against_single_particle_solution(tmp_path, capsys):
    """Spinless fermions on a ring from the density wave |1010...>: n_i(t) = sum_{j occupied}
    |[exp(-i h t)]_ij|^2 with h the hopping matrix (a Slater determinant stays one)."""
    L = 12
    occupied = [1, 0] * (L // 2)
    res = run(tmp_path, capsys, "free", "tV", "t = 1.0\nV = 0.0", f"N = {L // 2}",
              f"initial = {occupied}\ntol = 1e-12", site_observables("n_i", L), L=L,
              times="{ stop = 5.0, points = 11 }")
    ev = res["evolution"]
    h = np.zeros((L, L))
    for i in range(L):
        h[i, (i + 1) % L] = h[(i + 1) % L, i] = -1.0
    occ = np.flatnonzero(occupied)
    for k, t in enumerate(ev["times"]):
        U = expm(-1j * t * h)
        ref = (np.abs(U[:, occ]) ** 2).sum(axis=1)
        got = np.array([ev["observables"][f"n{i}"][k] for i in range(L)])
        assert np.allclose(got, ref, atol=1e-9), (t, np.abs(got - ref).max())
    # the imbalance decays like J0(4t)
    imbalance = np.array([sum(ev["observables"][f"n{i}"][k] * (-1) ** i for i in range(L)) for k in range(11)]) / (L / 2)
    assert imbalance[0] == pytest.approx(1.0) and abs(imbalance[3]) < 0.6


@functools.lru_cache(maxsize=1)
def hubbard_quench_reference(n=6, U0=4.0, U1=0.0, times=(0.0, 0.5, 1.0, 1.5, 2.0)):
    D, c, hop, double = hubbard_ring(n)
    q = D.charges()
    keep = np.flatnonzero((q["N_up"] == 3) & (q["N_dn"] == 3))
    H0 = (hop + U0 * double).toarray()[np.ix_(keep, keep)]
    H1 = (hop + U1 * double).toarray()[np.ix_(keep, keep)]
    dbl = double.toarray()[np.ix_(keep, keep)]
    w, v = np.linalg.eigh(H0)
    out = []
    for t in times:
        psi = expm(-1j * t * H1) @ v[:, 0]
        out.append(np.vdot(psi, dbl @ psi).real)
    return np.array(out), np.vdot(v[:, 0], H1 @ v[:, 0]).real


@pytest.mark.parametrize("sector", ["N_up = 3\nN_dn = 3", "N_up = 3\nN_dn = 3\nmomentum = 0\nreflection = 1"])
def test_hubbard_interaction_quench_from_the_ground_state(tmp_path, capsys, sector):
    ref, e_after = hubbard_quench_reference()
    res = run(tmp_path, capsys, "quench", "hubbard", "t = 1.0\nU = 4.0", sector,
              'initial = "ground"\ntol = 1e-12\n[evolution.model]\ntype = "hubbard"\nt = 1.0\nU = 0.0',
              '[[observable]]\nname = "double"\nop = "n_i,up n_i,dn"\nsites = "all"\n', L=6,
              times="{ stop = 2.0, points = 5 }")
    ev = res["evolution"]
    assert np.allclose(ev["observables"]["double"], ref, atol=1e-9), (ev["observables"]["double"], ref)
    # the energy is that of the quench Hamiltonian, conserved
    assert np.allclose(ev["energy"], e_after, atol=1e-9)
    assert res["observables"]["double"][0] == pytest.approx(ref[0], abs=1e-9)


def test_interrupted_evolution_resumes_to_the_same_answer(tmp_path, capsys, monkeypatch):
    from fockmpi.errors import Checkpointed
    from fockmpi.jobfile.table import load_job
    from fockmpi.app.pipeline import run_job
    from fockmpi.parallel import world
    from fockmpi.solvers import propagate
    text = JOB.format(L=8, model="heisenberg", couplings="", sector="Sz = 0", times="{ stop = 3.0, points = 7 }",
                      evolution="initial = [1, 1, 0, 0, 1, 1, 0, 0]\ntol = 1e-12",
                      entries=site_observables("Sz_i", 2)) + '[checkpoint]\ninterval = 0\n'
    (tmp_path / "job.toml").write_text(text)
    whole = run_job(load_job(str(tmp_path / "job.toml")), world(), output_path=str(tmp_path / "whole.h5"), quiet=True)

    class Guard:
        checkpoint = None
    guard = Guard()
    calls = []
    original = propagate.KrylovPropagator.advance

    def advance(self, x, h):
        calls.append(h)
        if len(calls) == 4:
            guard.checkpoint.request_stop()
        return original(self, x, h)
    monkeypatch.setattr(propagate.KrylovPropagator, "advance", advance)
    out = str(tmp_path / "parts.h5")
    with pytest.raises(Checkpointed, match="time evolution is checkpointed"):
        run_job(load_job(str(tmp_path / "job.toml")), world(), output_path=out, quiet=True, guard=guard)
    monkeypatch.setattr(propagate.KrylovPropagator, "advance", original)
    again = run_job(load_job(str(tmp_path / "job.toml")), world(), output_path=out, quiet=True, resume=True)
    a, b = whole["evolution"], again["evolution"]
    assert b["products"] < a["products"]  # (it went on from the checkpoint: fewer steps than the whole run)
    assert np.allclose(a["energy"], b["energy"], atol=1e-12)
    for name in a["observables"]:
        assert np.allclose(a["observables"][name], b["observables"][name], atol=1e-10), name
    capsys.readouterr()


BAD = [
    ("Sz = 0\nmomentum = 0", "initial = [1, 0, 1, 0, 1, 0, 1, 0]", "belongs to no symmetry sector"),
    ("Sz = 0", "initial = [1, 0, 1]", "a list of 8 local states"),
    ("Sz = 0", "initial = [1, 1, 1, 1, 1, 1, 1, 0]", "Sz = 3"),
    ("Sz = 0", 'initial = "excited"', "a list of 8 local states"),
    ("Sz = 0", 'method = "rk4"', "'krylov'"),
    ("Sz = 0", '[evolution.model]\ntype = "hubbard"', "other sites"),
    ("Sz = 0", '[evolution.model]\ntype = "heisenberg"\nh = 0.5\n[[evolution.model.term]]\nop = "Sx_0"',
     "[evolution.model]"),
]


@pytest.mark.parametrize("sector, evolution, needle", BAD)
def test_bad_evolution_is_refused(tmp_path, capsys, sector, evolution, needle):
    job = tmp_path / "bad.toml"
    job.write_text(JOB.format(L=8, model="heisenberg", couplings="", sector=sector, times="{ stop = 1.0, points = 3 }",
                              evolution=evolution, entries=""))
    assert_refused(capsys, ["run", str(job), "-o", str(tmp_path / "bad.h5"), "-q"], needle)


@pytest.mark.parametrize("times", ["[1.0, 0.5]", "{ stop = -1.0, points = 3 }", "{ stop = 1.0, points = 1 }", "3"])
def test_bad_times_are_refused(tmp_path, capsys, times):
    job = tmp_path / "bad.toml"
    job.write_text(JOB.format(L=8, model="heisenberg", couplings="", sector="Sz = 0", times=times,
                              evolution='initial = "ground"', entries=""))
    assert_refused(capsys, ["info", str(job)], "times")


def test_an_evolution_that_cannot_fit_is_refused_before_the_basis(tmp_path, capsys):
    job = tmp_path / "huge.toml"
    job.write_text(JOB.format(L=32, model="heisenberg", couplings="", sector="Sz = 0", times="{ stop = 1.0, points = 3 }",
                              evolution="initial = \"ground\"\nkrylov_dim = 500", entries=""))
    assert_refused(capsys, ["run", str(job), "-o", str(tmp_path / "huge.h5"), "-q"], "krylov_dim")
