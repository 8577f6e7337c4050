"""Quantum chemistry from FCIDUMP files against PySCF's FCI (PySCF writes the files and solves them
in this test's helpers, a test-only dependency): H2O/STO-3G with ORBSYM, N2/STO-3G singlet and
triplet, a hydrogen chain; integrals in permuted index orders; malformed files."""
import numpy as np
import pytest

import fockmpi
import fockmpi.runtime
from fockmpi.app import cli
from fockmpi.errors import InputError
from fockmpi.models.chemistry import fcidump, read_fcidump

# h5py first as fockmpi imports it (Debian's MPI build): PySCF imports h5py too, and the first
# import decides which build the process gets
fockmpi.runtime.import_h5py()
pyscf = pytest.importorskip("pyscf")


def molecule(tmp_path, name, atom, symmetry=False, nelec=None, nroots=1):
    """Write the FCIDUMP of an RHF of ``atom`` in STO-3G and return (path, PySCF FCI energies of
    the lowest roots with ``nelec`` = (n_alpha, n_beta), their <S^2>)."""
    from pyscf import ao2mo, fci, gto, scf
    from pyscf.tools import fcidump as writer
    mol = gto.M(atom=atom, basis="sto-3g", verbose=0, symmetry=symmetry)
    mf = scf.RHF(mol).run()
    path = str(tmp_path / f"{name}.fcidump")
    writer.from_scf(mf, path, molpro_orbsym=True)
    norb = mf.mo_coeff.shape[1]
    nelec = nelec or mol.nelec
    if symmetry:
        solver = fci.FCI(mf)
        energies, vectors = solver.kernel(nroots=nroots)
    else:
        h1 = mf.mo_coeff.T @ mf.get_hcore() @ mf.mo_coeff
        eri = ao2mo.kernel(mol, mf.mo_coeff)
        energies, vectors = fci.direct_spin1.kernel(h1, eri, norb, nelec, ecore=mol.energy_nuc(), nroots=nroots)
    energies, vectors = np.atleast_1d(energies), vectors if nroots > 1 else [vectors]
    s2 = [fci.spin_op.spin_square(v, norb, nelec)[0] for v in vectors]
    return path, energies, s2


WATER = "O 0 0 0; H 0 0.757 0.587; H 0 -0.757 0.587"


def test_water_with_orbital_symmetry_equals_pyscf(tmp_path):
    path, energies, _ = molecule(tmp_path, "h2o", WATER, symmetry=True)
    model = fcidump(path)
    assert model.dump.orbsym is not None and model.constraint is not None
    found = fockmpi.solve(model, model.default_sector, nev=1, quiet=True)
    assert found.basis.dim == 133  # of the 441 determinants with 5 + 5 electrons in 7 orbitals, those of A1
    assert abs(found.eigenvalues[0] - energies[0]) < 1e-9


def test_n2_singlet_and_triplet_equal_pyscf(tmp_path):
    atom = "N 0 0 0; N 0 0 1.1"
    path, singlet, _ = molecule(tmp_path, "n2", atom)
    model = fcidump(path)
    found = fockmpi.solve(model, {"N_up": 7, "N_dn": 7}, nev=1, quiet=True)
    assert abs(found.eigenvalues[0] - singlet[0]) < 1e-9
    # M_S = 1: PySCF's Davidson from its default guess stays in the guess's spatial symmetry, so
    # the lowest root is taken from several
    _, triplets, s2 = molecule(tmp_path, "n2t", atom, nelec=(8, 6), nroots=4)
    found = fockmpi.solve(model, {"N_up": 8, "N_dn": 6}, nev=1, quiet=True)
    assert abs(found.eigenvalues[0] - min(triplets)) < 1e-9 and abs(s2[int(np.argmin(triplets))] - 2) < 1e-6


def test_hydrogen_chain_and_permuted_integrals(tmp_path):
    atom = "; ".join(f"H 0 0 {0.9 * k}" for k in range(6))
    path, energies, _ = molecule(tmp_path, "h6", atom)
    found = fockmpi.solve(fcidump(path), {"N_up": 3, "N_dn": 3}, nev=1, quiet=True)
    assert abs(found.eigenvalues[0] - energies[0]) < 1e-9
    # the same integrals in other index orders (any of the 8 equal ones), shuffled, with D exponents
    # and a lower-case header spread over lines
    rng = np.random.default_rng(3)
    lines = open(path).read().splitlines()
    end = next(k for k, line in enumerate(lines) if line.strip().upper().endswith("&END"))
    body = []
    for line in lines[end + 1:]:
        v, i, j, k, l = line.split()
        if int(i) and int(j) and int(k) and int(l):
            orders = [(i, j, k, l), (j, i, k, l), (i, j, l, k), (k, l, i, j), (l, k, j, i)]
            i, j, k, l = orders[rng.integers(len(orders))]
        body.append(f"{float(v):.16E}".replace("E", "D") + f" {i} {j} {k} {l}")
    rng.shuffle(body)
    header = " &fci norb=6,\n nelec=6, ms2=0,\n isym=1,\n &end"
    other = tmp_path / "h6-permuted.fcidump"
    other.write_text(header + "\n" + "\n".join(body) + "\n")
    again = fockmpi.solve(fcidump(str(other)), {"N_up": 3, "N_dn": 3}, nev=1, quiet=True)
    assert abs(again.eigenvalues[0] - energies[0]) < 1e-9


GOOD = """ &FCI NORB=2,NELEC=2,MS2=0,
  ORBSYM=1,1,
  ISYM=1,
 &END
 0.5 1 1 1 1
 0.1 2 1 1 1
 0.4 2 2 1 1
 0.6 2 2 2 2
 -1.2 1 1 0 0
 -0.5 2 2 0 0
 0.7 0 0 0 0
"""


@pytest.mark.parametrize("old, new, needles", [
    ("NORB=2,", "", ["line 1", "lacks NORB"]),
    (" 0.4 2 2 1 1", " 0.4 3 2 1 1", ["line 7", "beyond NORB = 2"]),
    ("NELEC=2,MS2=0", "NELEC=3,MS2=0", ["line 1", "incompatible"]),
    (" 0.6 2 2 2 2", " 0.6x 2 2 2 2", ["line 8", "not a number"]),
    (" -0.5 2 2 0 0", " -0.5 2 2 0", ["line 10", "value i j k l"]),
    ("ORBSYM=1,1,", "ORBSYM=1,0,", ["ORBSYM", "molpro_orbsym=True"]),
])
def test_a_malformed_fcidump_names_the_line(tmp_path, capsys, old, new, needles):
    path = tmp_path / "bad.fcidump"
    assert old in GOOD
    path.write_text(GOOD.replace(old, new, 1))
    with pytest.raises(InputError) as err:
        read_fcidump(str(path))
    for needle in needles:
        assert needle in str(err.value)
    job = tmp_path / "job.toml"
    job.write_text(f'[model]\ntype = "fcidump"\nfile = "{path.name}"\n')
    assert cli.main(["info", str(job)]) == 2
    out = capsys.readouterr().err
    assert "Traceback" not in out and out.count("fockmpi: error:") == 1 and needles[0] in out


def test_two_orbital_model_equals_its_hand_made_matrix(tmp_path):
    """2 electrons in 2 orbitals, M_S = 0: the 4 determinants' matrix written out here (no PySCF)."""
    path = tmp_path / "h2.fcidump"
    path.write_text(GOOD)
    dump = read_fcidump(str(path))
    assert np.isclose(dump.eri[0, 1, 0, 0], 0.1) and np.isclose(dump.eri[0, 0, 1, 0], 0.1)
    J11, J22, J12, X = 0.5, 0.6, 0.4, 0.1
    e1, e2 = -1.2, -0.5
    # determinants A = |1a 1b>, B = |2a 2b>, C = |1a 2b>, D = |2a 1b>.  (21|11) = X moves one
    # electron between the orbitals while the other sits in orbital 1: A-C and A-D; it needs
    # (12|22), absent here, to do so next to an electron in orbital 2 (B-C, B-D), and the
    # exchange integral (12|12), absent too, for A-B and C-D
    H = np.array([
        [2 * e1 + J11, 0.0, X, X],
        [0.0, 2 * e2 + J22, 0.0, 0.0],
        [X, 0.0, e1 + e2 + J12, 0.0],
        [X, 0.0, 0.0, e1 + e2 + J12],
    ])
    exact = np.linalg.eigvalsh(H) + 0.7
    found = fockmpi.solve(fcidump(str(path)), {"N_up": 1, "N_dn": 1}, nev=4, quiet=True)
    assert np.allclose(np.sort(found.eigenvalues)[:4], exact, atol=1e-10)


def test_job_file_of_water_reports_the_spin_of_every_root(tmp_path, capsys):
    """Three A1 roots of water (a singlet, a triplet, a singlet) with <S^2> against PySCF's
    symmetry-adapted FCI and its spin_square."""
    from pyscf import ao2mo, fci, gto, scf, symm
    from pyscf.tools import fcidump as writer

    from fockmpi.io.results import read_results
    mol = gto.M(atom=WATER, basis="sto-3g", verbose=0, symmetry=True)
    mf = scf.RHF(mol).run()
    writer.from_scf(mf, str(tmp_path / "water.fcidump"), molpro_orbsym=True)
    orbsym = symm.label_orb_symm(mol, mol.irrep_id, mol.symm_orb, mf.mo_coeff)
    solver = fci.direct_spin1_symm.FCI(mol)
    solver.wfnsym = 0
    energies, vectors = solver.kernel(mf.mo_coeff.T @ mf.get_hcore() @ mf.mo_coeff, ao2mo.kernel(mol, mf.mo_coeff),
                                      7, (5, 5), ecore=mol.energy_nuc(), orbsym=orbsym, nroots=3)
    s2 = [fci.spin_op.spin_square(v, 7, (5, 5))[0] for v in vectors]
    job = tmp_path / "water.toml"
    job.write_text('[model]\ntype = "fcidump"\nfile = "water.fcidump"\n[solver]\nnev = 3\n')
    out = tmp_path / "water.h5"
    assert cli.main(["run", str(job), "-o", str(out), "--quiet"]) == 0
    found = read_results(str(out))
    assert np.allclose(found["eigenvalues"][:3], energies, atol=1e-9)
    assert np.allclose(found["observables"]["S2"][:3], s2, atol=1e-8)
    assert sorted(np.round(s2, 6)) == [0.0, 0.0, 2.0]
    capsys.readouterr()
    assert cli.main(["show", str(out)]) == 0
    assert "<S2>" in capsys.readouterr().out
