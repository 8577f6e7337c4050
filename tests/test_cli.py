"""The command line as a user meets it: exit codes, messages without tracebacks, complex jobs,
serial and under mpirun."""
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from dense_reference import DenseSystem

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FOCKMPI = [sys.executable, "-m", "fockmpi"]
MPI_ENV = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               OMPI_MCA_rmaps_base_oversubscribe="1")
# a test process that imported mpi4py must not pass its MPI singleton state to children
for key in list(MPI_ENV):
    if key.startswith(("OMPI_COMM_WORLD", "PMIX_", "OMPI_MCA_ess", "OMPI_MCA_orte")):
        del MPI_ENV[key]


def fockmpi(*args, ranks=None, timeout=300):
    cmd = FOCKMPI + list(args)
    if ranks:
        cmd = ["mpirun", "-n", str(ranks)] + cmd
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=MPI_ENV, cwd=ROOT,
                          check=False)


def write(tmp_path, text, name="job.toml"):
    p = tmp_path / name
    p.write_text(textwrap.dedent(text))
    return str(p)


FLUX_JOB = """
[lattice]
type = "chain"
size = [6]

[model]
type = "custom"
site = "fermion"

[[model.term]]
coef = [-0.8, -0.6]      # -t exp(i phi): a flux through the ring makes H complex
op = "cdag_i c_j"
bonds = "nn"
hc = true

[[model.term]]
coef = 0.7
op = "n_i n_j"
bonds = "nn"

[sector]
N = 3

[solver]
nev = 3
"""


def flux_hamiltonian():
    D = DenseSystem(["fermion"] * 6)
    M = 0
    for i in range(6):
        j = (i + 1) % 6
        h = (-0.8 - 0.6j) * D.cdag(i) @ D.c(j)
        M = M + h + h.conj().T + 0.7 * D.n(i) @ D.n(j)
    return D, M


def flux_reference():
    D, M = flux_hamiltonian()
    return D.sector_eigvals(M, N=3)[:3]


@pytest.mark.parametrize("ranks", [None, 2])
def test_complex_job_runs_on_complex_petsc(tmp_path, ranks):
    job = write(tmp_path, FLUX_JOB)
    out = str(tmp_path / "flux.h5")
    r = fockmpi("run", job, "-o", out, ranks=ranks)
    assert r.returncode == 0, r.stderr
    assert "complex" in r.stdout
    from fockmpi.io.results import read_results
    res = read_results(out)
    assert np.allclose(res["eigenvalues"][:3], flux_reference(), atol=1e-10)
    assert res["solver"]["scalar"] == "complex"
    # the stored complex eigenvector solves the dense problem (catches H versus conj(H))
    from fockmpi.runtime import import_h5py
    with import_h5py().File(out, "r") as f:
        states, vec = f["basis_states"][()], f["eigenvectors"][:, 0]
    _, M = flux_hamiltonian()
    index = states.astype(np.int64)  # spinless fermions: packed state = dense index
    sub = M[np.ix_(index, index)]
    assert np.allclose(sub @ vec, res["eigenvalues"][0] * vec, atol=1e-8)


@pytest.mark.parametrize("storage", ["aij", "shell"])
@pytest.mark.parametrize("ranks", [None, 3])
def test_complex_momentum_sectors_on_ranks(tmp_path, ranks, storage):
    from scipy import sparse
    from test_symmetry import dense_group_element

    from fockmpi.io.results import read_results
    from fockmpi.symmetry.lattice import momentum_character
    D, M = flux_hamiltonian()
    cdag = {m: sparse.csr_matrix(D.cdag(*m)) for m in D.modes}
    T = dense_group_element(D, [(i - 1) % 6 for i in range(6)], False, cdag)  # site i -> i - 1
    mask = np.isclose(D.charges()["N"], 3)
    for m in (1, 2):
        chi = momentum_character(m, 6)
        P = sum(np.conj(chi) ** j * np.linalg.matrix_power(T, j) for j in range(6)) / 6
        w, U = np.linalg.eigh(((P + P.conj().T) / 2)[np.ix_(mask, mask)])
        R = U[:, w > 0.5]
        ref = np.linalg.eigvalsh(R.conj().T @ M[np.ix_(mask, mask)] @ R)
        job = write(tmp_path, FLUX_JOB.replace("N = 3", f"N = 3\nmomentum = {m}")
                    .replace("nev = 3", f"nev = 2\nstorage = \"{storage}\""), name=f"k{m}.toml")
        out = str(tmp_path / f"k{m}.h5")
        r = fockmpi("run", job, "-o", out, ranks=ranks)
        assert r.returncode == 0, r.stderr
        res = read_results(out)
        assert res["sector"]["dimension"] == R.shape[1] and res["sector"]["T"] == m
        assert res["solver"]["storage"] == storage
        k = len(res["eigenvalues"])
        assert np.allclose(res["eigenvalues"], ref[:k], atol=1e-10), (m, res["eigenvalues"], ref)


@pytest.mark.parametrize("ranks", [None, 3])
def test_all_sectors_in_one_job_give_the_whole_spectrum(tmp_path, ranks):
    from test_pipeline_reference import dense_heisenberg_chain_spectrum

    from fockmpi.io.results import read_results
    job = write(tmp_path, "[lattice]\ntype='chain'\nsize=[10]\n[model]\ntype='heisenberg'\nJ2=0.25\n"
                          "[sector]\nSz=0\nmomentum='all'\nreflection='all'\nspin_flip='all'\n"
                          "[solver]\nnev=100\n")
    out = str(tmp_path / "all.h5")
    r = fockmpi("run", job, "-o", out, ranks=ranks)
    assert r.returncode == 0, r.stderr
    res = read_results(out)
    ref = dense_heisenberg_chain_spectrum(10, 0.25, Sz=0)
    assert len(res["eigenvalues"]) == len(ref) == 252 and np.allclose(res["eigenvalues"], ref, atol=1e-10)
    labels = {s["label"] for s in res["sectors"]}
    assert "T=0,reflection=1,spin_flip=1" in labels and "T=3,spin_flip=-1" in labels  # k=3: no mirror
    assert sum(s["dimension"] for s in res["sectors"]) == 252
    sec = res["sectors"][res["eigenvalue_sector"][0]]
    assert sec["T"] == 5  # L = 10 = 2 mod 4: the ground state has momentum pi (Marshall sign)


def test_existing_results_are_not_overwritten(tmp_path):
    job = write(tmp_path, FLUX_JOB)
    out = tmp_path / "keep.h5"
    out.write_text("precious")
    r = fockmpi("run", job, "-o", str(out))
    assert r.returncode == 2 and "--force" in r.stderr and "Traceback" not in r.stderr
    assert out.read_text() == "precious"


BAD_JOBS = [
    ("[lattice]\ntype='chian'\nsize=[4]\n[model]\ntype='heisenberg'\n", "did you mean 'chain'"),
    ("[lattice]\ntype='chain'\nsize=[4]\n[model]\ntype='heisenberg'\nJ='one'\n", "[model] J: expected a number"),
    ("[lattice]\ntype='chain'\nsize=[4]\n[model]\ntype='heisenberg'\n[sector]\nSz=5\n", "ranges from -2 to 2"),
    ("[lattice]\ntype='chain'\nsize=[5]\n[model]\ntype='heisenberg'\n[sector]\nSz=0\n", "half-integer"),
    ("[lattice]\ntype='chain'\nsize=[4]\n[model]\ntype='hubbard'\n[sector]\nN=9\n", "ranges from 0 to 8"),
    ("[lattice]\ntype='chain'\nsize=[4]\n[model]\ntype='custom'\nsite='spin'\n[[model.term]]\nop='S+_0 S-_1'\n",
     "not hermitian"),
    ("[lattice]\ntype='chain'\nsize=[4]\n[model]\ntype='custom'\nsite='spin'\n[[model.term]]\nop='S+_0 S-_9'\nhc=true\n",
     "site 9 does not exist"),
    ("[lattice]\ntype='chain'\nsize=[4]\n[model]\ntype='heisenberg'\n[[model.term]]\nop='Sx_1'\n[sector]\nSz=0\n",
     "changes Sz by +1"),
    ("[lattice]\ntype='chain'\nsize=[4]\n[model]\ntype='heisenberg'\n[solvr]\nnev=2\n", "did you mean 'solver'"),
    ("[lattice]\ntype='chain'\nsize=[4]\n[model]\ntype='heisenberg'\n[solver]\nwhich='lowest'\n", "[solver] which"),
    ("[lattice]\ntype='chain'\nsize=[4]\n[model]\ntype='heisenberg'\n[sector]\nN=2\n", "not a charge"),
    ("[lattice]\ntype='custom'\nsites=3\nbonds={nn=[[0,3]]}\n[model]\ntype='heisenberg'\n", "site indices in 0..2"),
    ("[lattice\ntype='chain'\n", "not valid TOML"),
    ("[lattice]\ntype='chain'\nsize=[6]\n[model]\ntype='heisenberg'\n[sector]\nSz=0\nmomentum=1\nreflection=1\n",
     "do not commute"),
    ("[lattice]\ntype='chain'\nsize=[6]\n[model]\ntype='heisenberg'\nh=0.3\n[sector]\nSz=0\nspin_flip=1\n",
     "not invariant under the symmetry 'spin_flip'"),
    (("[lattice]\ntype='custom'\nsites=4\nbonds={nn=[[0,1,1.0],[1,2,1.0],[2,3,0.5],[3,0,1.0]]}\n"
      "[model]\ntype='heisenberg'\n[sector]\n[[sector.symmetry]]\npermutation=[1,2,3,0]\n"),
     "not invariant under the symmetry 'symmetry1'"),
    ("[lattice]\ntype='chain'\nsize=[6]\n[model]\ntype='heisenberg'\n[sector]\nmomentum=[1,2]\n",
     "a list of 1 integer(s)"),
    ("[lattice]\ntype='square'\nsize=[2,2]\n[model]\ntype='heisenberg'\n[sector]\nreflection=1\n",
     "chains only"),
    ("[lattice]\ntype='chain'\nsize=[6]\nboundary='open'\n[model]\ntype='heisenberg'\n[sector]\nmomentum=0\n",
     "no periodic"),
    ("[lattice]\ntype='chain'\nsize=[6]\n[model]\ntype='heisenberg'\n[sector]\nmomentun=0\n",
     "did you mean 'momentum'"),
    ("[lattice]\ntype='chain'\nsize=[6]\n[model]\ntype='tV'\nV=1.0\nmu=1.0\n[sector]\nN=2\nparticle_hole=1\n",
     "only at half filling"),
    ("[lattice]\ntype='chain'\nsize=[6]\n[model]\ntype='tV'\nV=1.0\n[sector]\nN=3\nparticle_hole=1\n",
     "not invariant under the symmetry 'particle_hole'"),
    ("[lattice]\ntype='chain'\nsize=[6]\n[model]\ntype='heisenberg'\n[sector]\nSz=0\nparticle_hole=1\n",
     "for spins use spin_flip"),
    ("[lattice]\ntype='square'\nsize=[3,3]\nboundary='open'\n[model]\ntype='heisenberg'\n[sector]\npoint_group='A1'\n",
     "no built-in point group"),
    ("[lattice]\ntype='square'\nsize=[3,3]\n[model]\ntype='heisenberg'\n[sector]\npoint_group='A3'\n",
     "little group C4v at momentum Gamma: one of 'A1', 'A2', 'B1', 'B2', found 'A3'"),
    (("[lattice]\ntype='square'\nsize=[3,3]\n[model]\ntype='heisenberg'\n[sector]\nmomentum=[1,0]\n"
      "point_group='A1'\n"), "little group Cs at momentum [1, 0]: one of \"A'\", \"A''\""),
    (("[lattice]\ntype='square'\nsize=[6,6]\n[model]\ntype='heisenberg'\n[sector]\nmomentum=[1,2]\n"
      "point_group='A1'\n"), "no point-group operation fixes the momentum [1, 2]"),
]


@pytest.mark.parametrize("text, message", BAD_JOBS)
def test_bad_input_is_a_clear_error(tmp_path, text, message):
    job = write(tmp_path, text)
    r = fockmpi("run", job, "-o", str(tmp_path / "x.h5"))
    assert r.returncode == 2, r.stderr
    assert message in r.stderr and "Traceback" not in r.stderr, r.stderr
    # the error crossed ranks pickled (even on 1 rank): its message must arrive unchanged
    assert "expected None" not in r.stderr and r.stderr.count(message) == 1, r.stderr
    assert not os.path.exists(tmp_path / "x.h5")


def test_bad_input_under_mpi_prints_once(tmp_path):
    job = write(tmp_path, BAD_JOBS[1][0])
    r = fockmpi("run", job, "-o", str(tmp_path / "x.h5"), ranks=3)
    assert r.returncode == 2
    lines = [line for line in r.stderr.splitlines() if line.startswith("fockmpi: error")]
    assert lines == ["fockmpi: error: [model] J: expected a number, found 'one' (str)"], r.stderr


def test_output_option_overrides_output_path(tmp_path):
    job = write(tmp_path, FLUX_JOB + "\n[output]\npath = 'elsewhere.h5'\n")
    r = fockmpi("run", job, "-o", str(tmp_path / "here.h5"))
    assert r.returncode == 0, r.stderr
    assert os.path.exists(tmp_path / "here.h5") and not os.path.exists(tmp_path / "elsewhere.h5")


def test_info_and_show(tmp_path):
    job = write(tmp_path, FLUX_JOB)
    r = fockmpi("info", job, "-n", "4")
    assert r.returncode == 0 and "dimension 20" in r.stdout and "per rank" in r.stdout, r.stdout + r.stderr
    out = str(tmp_path / "flux.h5")
    assert fockmpi("run", job, "-o", out, "-q").returncode == 0
    r = fockmpi("show", out)
    assert r.returncode == 0 and "dimension 20" in r.stdout and "solve" in r.stdout
    from fockmpi.io.results import read_results
    mem = read_results(out)["memory"]  # the high-water mark after each phase never decreases
    marks = [mem[f"peak_rss_after_{p}"][0] for p in ("model", "basis", "assembly", "solve")]
    assert 0 < marks[0] and marks == sorted(marks) and marks[-1] <= mem["peak_rss_bytes"][0], mem
    # the libraries' pages (Python, numba, PETSc: tens of MiB), part of the peak
    assert 20 * 2**20 < mem["file_backed_bytes"][0] < mem["peak_rss_bytes"][0], mem
    r = fockmpi("show", str(tmp_path / "missing.h5"))
    assert r.returncode == 2 and "no such file" in r.stderr  # a missing file is bad input, as for a job file


def test_info_and_show_for_symmetry_sectors(tmp_path):
    job = write(tmp_path, FLUX_JOB.replace("N = 3", "N = 3\nmomentum = 2"), name="k.toml")
    r = fockmpi("info", job)
    assert r.returncode == 0 and "dimension 3 (counted" in r.stdout and "U(1) sector 20" in r.stdout, r.stdout
    job = write(tmp_path, FLUX_JOB.replace("N = 3", "N = 3\nmomentum = 'all'"), name="all.toml")
    r = fockmpi("info", job)
    assert r.returncode == 0 and "6 symmetry sectors" in r.stdout, r.stdout + r.stderr
    out = str(tmp_path / "all.h5")
    assert fockmpi("run", job, "-o", out, "-q").returncode == 0
    r = fockmpi("show", out)
    assert r.returncode == 0 and "6 sectors" in r.stdout and "T=" in r.stdout, r.stdout


def test_help_everywhere():
    for args in (["--help"], ["run", "--help"], ["info", "--help"], ["show", "--help"]):
        r = fockmpi(*args)
        assert r.returncode == 0 and "usage" in r.stdout


def test_dimension_beyond_32bit_indices_is_refused_or_uses_64bit_build():
    code = ("import fockmpi.runtime as r\n"
            "from fockmpi.errors import CapacityError\n"
            "try:\n"
            "    PETSc, _ = r.init('real', 2**31 + 5)\n"
            "    import numpy as np; print('INT', np.dtype(PETSc.IntType).itemsize)\n"
            "except CapacityError as e:\n"
            "    print('REFUSED', e)\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=MPI_ENV, timeout=120,
                       check=False)
    assert "REFUSED" in r.stdout and "64-bit" in r.stdout or "INT 8" in r.stdout, r.stdout + r.stderr


@pytest.mark.parametrize("job", sorted(f for f in os.listdir(os.path.join(ROOT, "jobs")) if f.endswith(".toml")))
def test_every_example_job_is_valid(job, capsys):
    """``fockmpi info`` reads every job of jobs/ without an error (the examples stay in step with the
    job-file syntax)."""
    from fockmpi.app import cli
    path = os.path.join(ROOT, "jobs", job)
    code = cli.main(["info", path])
    out, err = capsys.readouterr()
    if code != 0 and "already loaded a real PETSc build" in err:  # a complex job after real ones:
        r = subprocess.run([sys.executable, "-m", "fockmpi", "info", path], capture_output=True, text=True,
                           timeout=300, env=dict(os.environ, PYTHONPATH=ROOT))  # a process of its own
        code, out, err = r.returncode, r.stdout, r.stderr
    assert code == 0, err
    assert "dim" in out
