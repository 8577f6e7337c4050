"""[[observable]]: expectation values on the eigenvectors, in U(1) and symmetry sectors.

Checks that need nothing of fockmpi: on the Heisenberg ring (J = 1, singlet ground state) every
bond carries E0 / L and, by spin isotropy, <Sz_i Sz_j> = <S_i.S_j> / 3 and
<S+_i S-_j + h.c.> = 4 <S_i.S_j> / 3.  A correlation that the translations do not keep
(one bond, one pair) must come out the same in the momentum sector (where it is averaged over
the group) as in the U(1) sector, whose ground state it is (L = 8: the ground state has k = 0).
"""
import h5py
import numpy as np
import pytest
from clear_errors import assert_refused

from fockmpi.app import cli

RING = """
[lattice]
type = "chain"
size = [8]
boundary = "periodic"
[model]
type = "heisenberg"
[sector]
Sz = 0
{sector}
[solver]
nev = 1
tol = 1e-12
{observables}
"""

OBSERVABLES = """
[[observable]]
name = "SzSz_bonds"
op = "Sz_i Sz_j"
bonds = "nn"
[[observable]]
name = "flip_01"
op = "S+_0 S-_1"
hc = true
[[observable]]
name = "SzSz_04"
op = "Sz_0 Sz_4"
[[observable]]
name = "SzSz"
op = "Sz_i Sz_j"
pairs = "all"
structure_factor = true
"""


def run(tmp_path, capsys, sector="", observables=OBSERVABLES, name="ring"):
    job = tmp_path / f"{name}.toml"
    job.write_text(RING.format(sector=sector, observables=observables))
    out = tmp_path / f"{name}.h5"
    code = cli.main(["run", str(job), "-o", str(out), "-q"])
    _, err = capsys.readouterr()
    return code, out, err


def test_correlations_in_u1_and_momentum_sectors(tmp_path, capsys):
    values = {}
    for label, sector in (("u1", ""), ("k0", "momentum = 0\nreflection = 1\nspin_flip = 1")):
        code, out, err = run(tmp_path, capsys, sector, name=label)
        assert code == 0, err
        with h5py.File(out) as f:
            e0 = f["eigenvalues"][0]
            values[label] = {k: f["observables"][k][0] for k in f["observables"]}
            assert f["observables"]["flip_01"].attrs["definition"] == '{"hc": true, "op": "S+_0 S-_1"}'
        bond = e0 / 8
        assert values[label]["SzSz_bonds"] == pytest.approx(8 * bond / 3, abs=1e-10)
        assert values[label]["flip_01"] == pytest.approx(4 * bond / 3, abs=1e-10)
    assert values["k0"]["SzSz_04"] == pytest.approx(values["u1"]["SzSz_04"], abs=1e-10)
    # the correlation matrix: one value per pair (in the sector: one per orbit of pairs), equal in
    # both sectors; <Sz_i^2> = 1/4; sum_ij <Sz_i Sz_j> = <Sz_total^2> = 0; its entry (0, 4)
    for label in values:
        assert values[label]["SzSz"].shape == (8, 8)
        assert np.allclose(np.diag(values[label]["SzSz"]), 0.25, atol=1e-12)
        assert abs(values[label]["SzSz"].sum()) < 1e-9
    assert np.allclose(values["k0"]["SzSz"], values["u1"]["SzSz"], atol=1e-9)
    assert values["k0"]["SzSz"][3, 7] == pytest.approx(values["u1"]["SzSz_04"], abs=1e-10)
    assert 0.03 < values["k0"]["SzSz_04"] < 0.07  # antiferromagnetic order at distance 4 (even)


def test_each_eigenvector_gets_its_value(tmp_path, capsys):
    text = RING.format(sector="momentum = 0", observables=OBSERVABLES).replace("nev = 1", "nev = 3")
    (tmp_path / "three.toml").write_text(text)
    assert cli.main(["run", str(tmp_path / "three.toml"), "-o", str(tmp_path / "three.h5"), "-q"]) == 0
    capsys.readouterr()
    with h5py.File(tmp_path / "three.h5") as f:
        e = f["eigenvalues"][()]
        bonds = f["observables"]["SzSz_bonds"][()]
    assert len(bonds) == len(e) >= 3
    # singlets (S = 0) have sum_bonds <Sz Sz> = E / 3; other multiplets differ, but H = sum S.S
    # and every value lies between -L/4 and L/4
    assert bonds[0] == pytest.approx(e[0] / 3, abs=1e-10)
    assert np.all(np.abs(bonds) <= 8 / 4 + 1e-12)


BAD = [
    ('[[observable]]\nop = "Sz_0"\n', "[[observable]] #1 name"),
    ('[[observable]]\nname = "2x"\nop = "Sz_0"\n', "a name of letters"),
    ('[[observable]]\nname = "a"\n', "the key 'op' is missing"),
    ('[[observable]]\nname = "a"\nop = "Sz_0"\n[[observable]]\nname = "a"\nop = "Sz_1"\n', "already used"),
    ('[[observable]]\nname = "a"\nop = "Sz_0"\nbonds = "nearest"\n', "no bond list 'nearest'"),
    ('[[observable]]\nname = "a"\nop = "Sz_0"\ncolour = 1\n', "unknown key 'colour'"),
    ('[observable]\nname = "a"\n', "each under its own [[observable]] header"),
    ('[[observable]]\nname = "a"\nop = "Sz_i Sz_j"\npairs = "some"\n', "every ordered pair"),
    ('[[observable]]\nname = "a"\nop = "Sz_0 Sz_j"\npairs = "all"\n', "of the two sites i and j"),
    ('[[observable]]\nname = "a"\nop = "Sz_0 Sz_1"\nstructure_factor = true\n', "needs pairs = \"all\""),
    ('[[observable]]\nname = "a"\nquantity = "S3"\n', "'S2'"),
    ('[[observable]]\nname = "a"\ndistribution = true\nsite = 9\n', "a site 0 .. 7"),
    ('[[observable]]\nname = "a"\nop = "Sz_i"\nsites = "all"\neach_site = 1\n', "each_site"),
]


@pytest.mark.parametrize("observables, needle", BAD)
def test_bad_observables_are_refused_before_the_basis(tmp_path, capsys, observables, needle):
    job = tmp_path / "bad.toml"
    job.write_text(RING.format(sector="", observables=observables))
    assert_refused(capsys, ["info", str(job)], needle)


def test_observables_in_every_sector_at_once_are_refused(tmp_path, capsys):
    job = tmp_path / "all.toml"
    job.write_text(RING.format(sector='momentum = "all"', observables=OBSERVABLES))
    code = cli.main(["info", str(job)])
    _, err = capsys.readouterr()
    assert code == 2 and "one sector at a time" in err, err


def test_an_operator_that_leaves_the_sector_is_refused_before_the_basis(tmp_path, capsys):
    job = tmp_path / "leave.toml"
    job.write_text(RING.format(sector="", observables='[[observable]]\nname = "raise0"\nop = "S+_0"\n'))
    code = cli.main(["info", str(job)])
    _, err = capsys.readouterr()
    assert code == 2 and "Traceback" not in err, err
    assert "raise0 changes Sz by +1" in err and "keeps the sector" in err, err


def test_structure_factor_is_the_fourier_transform_of_the_correlations(tmp_path, capsys):
    """S(q) = (1/N) sum_ij exp(iq(r_i - r_j)) C_ij on q = 2 pi m / L, computed here by loops: on
    the ring S(0) = <Sz_total^2>/N = 0, sum_q S(q) = sum_i C_ii = N/4, the peak at q = pi."""
    code, out, err = run(tmp_path, capsys, "momentum = 0", name="sq")
    assert code == 0, err
    with h5py.File(out) as f:
        C = f["observables"]["SzSz"][0]
        S = f["observables"]["SzSz_Sq"][0]
        labels = f["observables"]["SzSz_q_labels"][()]
    assert [tuple(x) for x in labels] == [(m, 0) for m in range(8)]
    want = [sum(np.exp(2j * np.pi * m * (i - j) / 8) * C[i, j] for i in range(8) for j in range(8)).real / 8
            for m in range(8)]
    assert np.allclose(S, want, atol=1e-12)
    assert abs(S[0]) < 1e-9 and S.sum() == pytest.approx(8 / 4, abs=1e-9) and np.argmax(S) == 4
    pytest.importorskip("matplotlib")
    assert cli.main(["show", str(out), "--plot"]) == 0
    printed = capsys.readouterr().out
    assert "SzSz_Sq: S(q) on 8 momenta" in printed and "largest 0.86" in printed, printed
    png = tmp_path / "sq_SzSz.png"
    assert png.exists() and png.stat().st_size > 10_000, printed


def test_structure_factor_on_a_square_lattice(tmp_path, capsys):
    job = tmp_path / "sq2.toml"
    job.write_text(RING.replace('type = "chain"\nsize = [8]', 'type = "square"\nsize = [4, 2]').format(
        sector="", observables=OBSERVABLES))
    assert cli.main(["run", str(job), "-o", str(tmp_path / "sq2.h5"), "-q"]) == 0, capsys.readouterr()
    with h5py.File(tmp_path / "sq2.h5") as f:
        C = f["observables"]["SzSz"][0]
        S = f["observables"]["SzSz_Sq"][0]
        labels = f["observables"]["SzSz_q_labels"][()]
    x, y = np.meshgrid(np.arange(4), np.arange(2))  # site = x + 4 y
    r = np.stack([x.ravel(), y.ravel()], axis=1)
    for (m1, m2), value in zip(labels, S):
        q = 2 * np.pi * np.array([m1 / 4, m2 / 2])
        assert value == pytest.approx(np.real(np.exp(1j * (r @ q))[:, None] * np.exp(-1j * (r @ q))[None, :]
                                              * C).sum() / 8, abs=1e-12)
    assert S.sum() == pytest.approx(8 / 4, abs=1e-9)
    assert tuple(labels[np.argmax(S)]) == (2, 1)  # the Neel order's (pi, pi)


def test_measure_adds_observables_to_a_copy_without_solving_again(tmp_path, capsys):
    code, out, err = run(tmp_path, capsys, "momentum = 0", "", name="plain")  # no observables in the job
    assert code == 0, err
    (tmp_path / "obs.toml").write_text(OBSERVABLES)
    before = out.read_bytes()
    measured = tmp_path / "plain.measured.h5"
    assert cli.main(["measure", str(out), str(tmp_path / "obs.toml")]) == 0, capsys.readouterr()
    assert out.read_bytes() == before  # the results file itself is not modified
    code, ref, err = run(tmp_path, capsys, "momentum = 0", name="ref")  # the same job measuring in the run
    with h5py.File(measured) as f, h5py.File(ref) as g:
        assert sorted(f["observables"]) == sorted(g["observables"])
        for k in g["observables"]:
            assert np.allclose(f["observables"][k][()], g["observables"][k][()], atol=1e-10), k
        assert f["observables"]["SzSz"].attrs["definition"] == g["observables"]["SzSz"].attrs["definition"]
        assert np.array_equal(f["eigenvalues"][()], h5py.File(out)["eigenvalues"][()])
    # an existing output is not replaced without --force
    code = cli.main(["measure", str(out), str(tmp_path / "obs.toml")])
    err = capsys.readouterr().err
    assert code == 2 and "--force" in err, err
    assert cli.main(["measure", str(out), str(tmp_path / "obs.toml"), "--force", "-q"]) == 0


@pytest.mark.parametrize("what, needle", [("no vectors", "has no eigenvectors"), ("other keys", "only [[observable]]"),
                                          ("same file", "another file")])
def test_measure_refuses_what_it_cannot_do(tmp_path, capsys, what, needle):
    job = RING.format(sector="", observables="")
    if what == "no vectors":
        job += "[output]\neigenvectors = false\n"
    (tmp_path / "j.toml").write_text(job)
    assert cli.main(["run", str(tmp_path / "j.toml"), "-o", str(tmp_path / "j.h5"), "-q"]) == 0
    (tmp_path / "obs.toml").write_text(OBSERVABLES + ("[solver]\nnev = 2\n" if what == "other keys" else ""))
    extra = ["-o", str(tmp_path / "j.h5")] if what == "same file" else []
    code = cli.main(["measure", str(tmp_path / "j.h5"), str(tmp_path / "obs.toml")] + extra)
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err and needle in err, err


@pytest.mark.parametrize("sector", ["", "momentum = 0"])
def test_the_energy_is_the_sum_of_its_measured_parts(tmp_path, capsys, sector):
    """Hubbard ring: E = -t <hopping> + U <double occupancy> for every eigenvector, the hopping
    term measured by its hermitian form with fermion signs, in U(1) and in a momentum sector."""
    job = tmp_path / "hub.toml"
    job.write_text(f"""
[lattice]
type = "chain"
size = [6]
[model]
type = "hubbard"
U = 3.0
[sector]
N_up = 3
N_dn = 2
{sector}
[solver]
nev = 3
tol = 1e-12
[[observable]]
name = "double"
op = "n_i,up n_i,dn"
sites = "all"
[[observable]]
name = "hopping"
op = "cdag_i,s c_j,s"
bonds = "nn"
hc = true
""")
    assert cli.main(["run", str(job), "-o", str(tmp_path / "hub.h5"), "-q"]) == 0, capsys.readouterr()
    with h5py.File(tmp_path / "hub.h5") as f:
        e, o = f["eigenvalues"][()], {k: f["observables"][k][()] for k in f["observables"]}
    assert len(e) >= 3 and np.allclose(e, -o["hopping"] + 3.0 * o["double"], atol=1e-9), (e, o)


def test_each_site_gives_a_profile_in_the_order_of_sites(tmp_path, capsys):
    entries = ('[[observable]]\nname = "Sz_at"\nop = "Sz_i"\nsites = [3, 0, 5]\neach_site = true\n'
               '[[observable]]\nname = "SzSz_from0"\nop = "Sz_0 Sz_i"\nsites = "all"\neach_site = true\n'
               '[[observable]]\nname = "SzSz"\nop = "Sz_i Sz_j"\npairs = "all"\n')
    for label, sector in (("u1", ""), ("k0", "momentum = 0\nreflection = 1")):
        code, out, err = run(tmp_path, capsys, sector, observables=entries, name=f"each_{label}")
        assert code == 0, err
        with h5py.File(out) as f:
            at, row, C = f["observables/Sz_at"][0], f["observables/SzSz_from0"][0], f["observables/SzSz"][0]
        assert at.shape == (3,) and np.allclose(at, 0.0, atol=1e-12)  # (Sz = 0 and translation invariant)
        assert np.allclose(row, C[0], atol=1e-10) and row[0] == pytest.approx(0.25)


COHERENT = """
[model]
type = "jaynes_cummings"
nmax = 30
omega = 1.0
Delta = -1.0
[[model.term]]
op = "b_1"
coef = -2.0
hc = true
[solver]
nev = 1
tol = 1e-13
[[observable]]
name = "P_photons"
distribution = true
site = 1
[[observable]]
name = "P_atom"
distribution = true
site = 0
"""


def test_photon_distribution_of_a_coherent_state_is_poisson(tmp_path, capsys):
    """a+a - 2 (a + a+) has the ground state |alpha = 2>: P(n) = exp(-4) 4^n / n!."""
    from math import exp, factorial
    job = tmp_path / "coherent.toml"
    job.write_text(COHERENT)
    code = cli.main(["run", str(job), "-o", str(tmp_path / "coherent.h5"), "-q"])
    _, err = capsys.readouterr()
    assert code == 0, err
    with h5py.File(tmp_path / "coherent.h5") as f:
        P, atom = f["observables/P_photons"][0], f["observables/P_atom"][0]
        assert '"distribution": true' in f["observables/P_photons"].attrs["definition"]
    assert P.shape == (31,) and atom.shape == (2,)
    assert np.allclose(P, [exp(-4) * 4 ** n / factorial(n) for n in range(31)], atol=1e-10)
    assert atom == pytest.approx([0.0, 1.0], abs=1e-12)  # Delta Sz with Delta = -1: the atom is up


def test_a_distribution_needs_a_sector_without_symmetries(tmp_path, capsys):
    job = tmp_path / "dist.toml"
    job.write_text(RING.format(sector="momentum = 0", observables='[[observable]]\nname = "P0"\ndistribution = true\n'
                               'site = 0\n'))
    code = cli.main(["info", str(job)])
    _, err = capsys.readouterr()
    assert code == 2 and "without lattice symmetries" in err and "Traceback" not in err, err


def test_minimum_image_distances():
    from fockmpi import make_lattice
    from fockmpi.observables import minimum_image_distances
    assert np.allclose(minimum_image_distances(make_lattice("chain", [8])), [0, 1, 2, 3, 4, 3, 2, 1])
    assert np.allclose(minimum_image_distances(make_lattice("chain", [5], boundary="open")), [0, 1, 2, 3, 4])
    d = np.round(minimum_image_distances(make_lattice("square", [4, 4])) ** 2).astype(int)
    assert sorted(np.bincount(d).tolist()) == sorted([1, 4, 4, 0, 2, 4, 0, 0, 1])  # r^2 = 0, 1, 2, 4, 5, 8
    tri = minimum_image_distances(make_lattice("triangular", [3, 3]))
    assert np.allclose(np.sort(tri), [0] + [1] * 6 + [np.sqrt(3)] * 2)  # 3x3 torus: 6 neighbours, 2 at sqrt(3)


def test_total_spin_squared_quantity(tmp_path, capsys):
    entries = '[[observable]]\nname = "S_squared"\nquantity = "S2"\n'
    for label, sector in (("u1", ""), ("k0", "momentum = 0")):
        text = RING.format(sector=sector, observables=entries).replace("nev = 1", "nev = 4")
        (tmp_path / f"s2_{label}.toml").write_text(text)
        assert cli.main(["run", str(tmp_path / f"s2_{label}.toml"), "-o", str(tmp_path / f"s2_{label}.h5"), "-q"]) == 0
        capsys.readouterr()
        with h5py.File(tmp_path / f"s2_{label}.h5") as f:
            s2 = f["observables/S_squared"][()]
        assert s2[0] == pytest.approx(0.0, abs=1e-9)  # the singlet ground state
        spins = (-1 + np.sqrt(1 + 4 * s2)) / 2  # S(S+1) -> S: whole numbers for eigenstates
        assert np.allclose(spins, np.round(spins), atol=1e-7) and spins.max() >= 1
