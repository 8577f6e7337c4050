"""[[spectrum]]: dynamical correlations of the ground state by the Lanczos continued fraction,
against the Lehmann sum of a full diagonalization built here (tests/dense_reference.py, nothing
of fockmpi): the dynamical spin structure factor of a Heisenberg ring (S^z and S^+, in the U(1)
sector and in the momentum sector with reflection and spin flip, where the target sectors keep
only the symmetries O_q transforms under), and the single-particle spectral function of a
Hubbard ring (addition and removal, fermion signs included).  Sum rules: the weight of each q is
<0|O_q^+ O_q|0>, equal to the static structure factor of [[observable]] pairs."""
import functools
import json

import h5py
import numpy as np
import pytest
from dense_reference import DenseSystem, hubbard_ring

from clear_errors import assert_refused
from ring_job import RING

from fockmpi.app import cli
from fockmpi.io.results import read_results
from fockmpi.spectra import spectrum_from_record

L = 8
ETA = 0.1
OMEGA = np.linspace(-1.0, 5.0, 121)


def run(tmp_path, capsys, name, sector, entries, model="heisenberg", couplings="", size=L, args=()):
    job = tmp_path / f"{name}.toml"
    job.write_text(RING.format(L=size, model=model, couplings=couplings, sector=sector, entries=entries))
    out = tmp_path / f"{name}.h5"
    code = cli.main(["run", str(job), "-o", str(out), "-q", *args])
    _, err = capsys.readouterr()
    assert code == 0, err
    return read_results(str(out))


def spectrum_entry(name, op, branch="positive", q=None, steps=400):
    lines = [f'[[spectrum]]\nname = "{name}"\nop = "{op}"\nomega = [{OMEGA[0]}, {OMEGA[-1]}, {len(OMEGA)}]',
             f"broadening = {ETA}", f'branch = "{branch}"', f"steps = {steps}"]
    if q is not None:
        lines.append(f"q = {json.dumps(q)}")
    return "\n".join(lines) + "\n"


def lehmann(H, psi, e0, phi, omega, negative=False):
    """sum_n |<n|phi>|^2 L_eta(omega -+ (E_n - E0)) from the eigenpairs of H (dense)."""
    w, v = np.linalg.eigh(H)
    amp = np.abs(v.conj().T @ phi) ** 2
    sign = -1.0 if negative else 1.0
    x = omega[:, None] - sign * (w[None, :] - e0)
    return (ETA / np.pi / (x ** 2 + ETA ** 2)) @ amp


@functools.lru_cache(maxsize=1)
def heisenberg_dense():
    D = DenseSystem(["spin"] * L)
    S = {(i, a): D.spin(i, a) for i in range(L) for a in "+-z"}
    H = sum(S[i, "z"] @ S[(i + 1) % L, "z"] + 0.5 * (S[i, "+"] @ S[(i + 1) % L, "-"] + S[i, "-"] @ S[(i + 1) % L, "+"])
            for i in range(L))
    sz = D.charges()["Sz"]
    return H, S, sz


def heisenberg_reference(op, q, omega):
    H, S, sz = heisenberg_dense()
    keep = np.flatnonzero(np.isclose(sz, 0))
    w, v = np.linalg.eigh(H[np.ix_(keep, keep)])
    psi = np.zeros(len(sz))
    psi[keep] = v[:, 0]
    Oq = sum(np.exp(1j * q * i) * S[i, op] for i in range(L)) / np.sqrt(L)
    phi = Oq @ psi
    change = 1 if op == "+" else 0
    target = np.flatnonzero(np.isclose(sz, change))
    return lehmann(H[np.ix_(target, target)], psi, w[0], phi[target], omega), np.vdot(phi, phi).real, w[0]


@pytest.mark.parametrize("sector", ["Sz = 0", "Sz = 0\nmomentum = 0\nreflection = 1\nspin_flip = 1"])
def test_spin_structure_factor_against_lehmann(tmp_path, capsys, sector):
    entries = spectrum_entry("Szz", "Sz_i") + spectrum_entry("Spm", "S+_i", q=[1, 3, 4]) + (
        '[[observable]]\nname = "SzSz"\nop = "Sz_i Sz_j"\npairs = "all"\nstructure_factor = true\n')
    res = run(tmp_path, capsys, "heis", sector, entries)
    szz, spm = res["spectra"]["Szz"], res["spectra"]["Spm"]
    assert szz["S"].shape == (L, len(OMEGA)) and list(szz["q_labels"][:, 0]) == list(range(L))
    for k in range(L):
        ref, weight, e0 = heisenberg_reference("z", 2 * np.pi * k / L, OMEGA)
        assert szz["energy0"] == pytest.approx(e0, abs=1e-10)
        assert np.allclose(szz["S"][k], ref, atol=1e-8), (k, np.abs(szz["S"][k] - ref).max())
        assert szz["positive"]["weight"][k] == pytest.approx(weight, abs=1e-10)
        # the sum rule against the static structure factor measured in the same run
        assert szz["positive"]["weight"][k] == pytest.approx(res["observables"]["SzSz_Sq"][0][k], abs=1e-10)
    for row, k in enumerate([1, 3, 4]):
        ref, weight, _ = heisenberg_reference("+", 2 * np.pi * k / L, OMEGA)
        assert np.allclose(spm["S"][row], ref, atol=1e-8), (k, np.abs(spm["S"][row] - ref).max())
        assert spm["positive"]["weight"][row] == pytest.approx(2 * szz["positive"]["weight"][k], abs=1e-10)
    # the target sectors: S^z_q keeps Sz, moves k by q and flips the spin-flip parity; S^+ raises Sz
    sectors = szz["positive"]["sector"]
    if "momentum" in sector:
        assert sectors[3] == "Sz=0,T=3,spin_flip=-1" and sectors[4] == "Sz=0,T=4,reflection=1,spin_flip=-1"
        assert spm["positive"]["sector"][0] == "Sz=1,T=1"
    else:
        assert sectors[3] == "Sz=0" and spm["positive"]["sector"][0] == "Sz=1"
    # stored coefficients give the spectrum again (another grid, another broadening: still Lehmann)
    again = spectrum_from_record(szz)
    assert np.allclose(again, szz["S"], atol=1e-12)


@functools.lru_cache(maxsize=1)
def hubbard_dense(n=6, U=4.0):
    D, c, hop, double = hubbard_ring(n)
    return (hop + U * double).tocsr(), c, D.charges()


def test_hubbard_spectral_function_against_lehmann(tmp_path, capsys):
    n = 6
    H, c, q = hubbard_dense(n)
    res = {}
    for label, sector in (("u1", "N_up = 3\nN_dn = 3"), ("k0", "N_up = 3\nN_dn = 3\nmomentum = 0\nreflection = 1")):
        res[label] = run(tmp_path, capsys, f"hub_{label}", sector, spectrum_entry("A", "cdag_i,up", branch="both"),
                         model="hubbard", couplings="t = 1.0\nU = 4.0", size=n)["spectra"]["A"]
    half = np.flatnonzero((q["N_up"] == 3) & (q["N_dn"] == 3))
    w, v = np.linalg.eigh(H[half][:, half].toarray())
    psi = np.zeros(H.shape[0])
    psi[half] = v[:, 0]
    plus = np.flatnonzero((q["N_up"] == 4) & (q["N_dn"] == 3))
    minus = np.flatnonzero((q["N_up"] == 2) & (q["N_dn"] == 3))
    for k in range(n):
        cdag_k = sum(np.exp(2j * np.pi * k * i / n) * c[i, "up"].T for i in range(n)) / np.sqrt(n)
        add, remove = cdag_k @ psi, cdag_k.conj().T @ psi
        ref = lehmann(H[plus][:, plus].toarray(), psi, w[0], add[plus], OMEGA) + \
            lehmann(H[minus][:, minus].toarray(), psi, w[0], remove[minus], OMEGA, negative=True)
        for label in res:
            got = res[label]
            assert np.allclose(got["S"][k], ref, atol=1e-8), (label, k, np.abs(got["S"][k] - ref).max())
            # <c c^+> + <c^+ c> = 1 for every k: the two branches' weights add up to one
            assert got["positive"]["weight"][k] + got["negative"]["weight"][k] == pytest.approx(1.0, abs=1e-10)
    # c^+_{k,up} adds momentum k: from k = 0 the addition sector of q = 2 is T=2, removal T=-2 = 4
    assert res["k0"]["positive"]["sector"][2] == "N_dn=3,N_up=4,T=2"
    assert res["k0"]["negative"]["sector"][2] == "N_dn=3,N_up=2,T=4"


BAD = [
    ('[[spectrum]]\nop = "Sz_i"\nomega = [0, 1, 10]\nbroadening = 0.1\n', "[[spectrum]] #1 name"),
    ('[[spectrum]]\nname = "a"\nop = "Sz_0"\nomega = [0, 1, 10]\nbroadening = 0.1\n', "of the one site i"),
    ('[[spectrum]]\nname = "a"\nop = "Sz_i Sz_j"\nomega = [0, 1, 10]\nbroadening = 0.1\n', "of the one site i"),
    ('[[spectrum]]\nname = "a"\nop = "Sz_i"\nomega = [1, 0, 10]\nbroadening = 0.1\n', "[min, max, points]"),
    ('[[spectrum]]\nname = "a"\nop = "Sz_i"\nomega = [0, 1, 10]\nbroadening = 0\n', "> 0"),
    ('[[spectrum]]\nname = "a"\nop = "Sz_i"\nomega = [0, 1, 10]\n', "broadening"),
    ('[[spectrum]]\nname = "a"\nop = "Sz_i"\nomega = [0, 1, 10]\nbroadening = 0.1\nbranch = "up"\n', "'positive'"),
    ('[[spectrum]]\nname = "a"\nop = "Sz_i"\nomega = [0, 1, 10]\nbroadening = 0.1\nq = [[0, 1]]\n', "1 integer(s)"),
    ('[[spectrum]]\nname = "a"\nop = "Sz_i + S+_i"\nomega = [0, 1, 10]\nbroadening = 0.1\n', "op"),
    ('[[spectrum]]\nname = "a"\nop = "Sx_i"\nomega = [0, 1, 10]\nbroadening = 0.1\n', "split the operator"),
    ('[[spectrum]]\nname = "a"\nop = "Sz_i"\nomega = [0, 1, 10]\nbroadening = 0.1\ncolour = 1\n', "unknown key"),
]


@pytest.mark.parametrize("entries, needle", BAD)
def test_bad_spectra_are_refused_before_the_basis(tmp_path, capsys, entries, needle):
    job = tmp_path / "bad.toml"
    job.write_text(RING.format(L=L, model="heisenberg", couplings="", sector="Sz = 0", entries=entries))
    assert_refused(capsys, ["info", str(job)], needle)


def test_spectra_need_a_periodic_lattice_and_one_sector(tmp_path, capsys):
    for sector, lattice, needle in (('Sz = 0\nmomentum = "all"', "", "one sector"),
                                    ("Sz = 0", 'boundary = "open"', "periodic boundaries")):
        job = tmp_path / "bad.toml"
        text = RING.format(L=L, model="heisenberg", couplings="", sector=sector,
                           entries=spectrum_entry("Szz", "Sz_i"))
        job.write_text(text.replace("size = [8]", "size = [8]\n" + lattice))
        assert_refused(capsys, ["info", str(job)], needle)


def test_results_file_layout(tmp_path, capsys):
    run(tmp_path, capsys, "layout", "Sz = 0\nmomentum = 0", spectrum_entry("Szz", "Sz_i", q=[0, 4], steps=7))
    with h5py.File(tmp_path / "layout.h5") as f:
        g = f["spectra/Szz"]
        assert g["S"].shape == (2, len(OMEGA)) and g["omega"].shape == (len(OMEGA),)
        assert json.loads(g.attrs["definition"])["op"] == "Sz_i" and g.attrs["broadening"] == ETA
        assert g["positive/a"].shape[0] == 2 and g["positive/steps"][1] <= 7
        assert g["q_labels"][1].tolist() == [4, 0]


def test_show_prints_and_plots_the_spectra(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    run(tmp_path, capsys, "shown", "Sz = 0", spectrum_entry("Szz", "Sz_i"))
    assert cli.main(["show", str(tmp_path / "shown.h5"), "--plot"]) == 0
    out, _ = capsys.readouterr()
    assert "Szz: S(q, omega) on 8 momenta x 121 frequencies" in out and "spectra " in out
    png = tmp_path / "shown_Szz.png"
    assert png.exists() and png.stat().st_size > 10000
