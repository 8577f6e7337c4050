"""Production runs without Slurm: sweeps run here point by point (resumable), ``fockmpi collect``,
``fockmpi submit --dry-run`` (the batch script and its checks), and the batch script's requeue
logic run by bash against stand-ins for the launcher and scontrol.  The real-Slurm tests are
in tests/test_slurm.py."""
import csv
import json
import os
import subprocess
import textwrap

import numpy as np
import pytest
from dense_reference import DenseSystem
from test_cli import ROOT, write
from test_hostile import assert_clear_error, run_main

from fockmpi.errors import ConfigError
from fockmpi.io.results import read_results
from fockmpi.jobfile.sweep import sweep_points
from fockmpi.jobfile.table import parse_job

TV_SWEEP = """
[lattice]
type = "chain"
size = [6]

[model]
type = "tV"
t = 1.0

[sector]
N = 3

[solver]
nev = 2

[sweep]
V = [0.0, 1.5, 4.0]
"model.t" = [1.0, 0.5]
"""


def tv_reference(V, t, N=3, L=6):
    """The lowest levels of the tV ring, built densely (Jordan-Wigner in dense_reference)."""
    D = DenseSystem(["fermion"] * L)
    H = 0
    for i in range(L):
        j = (i + 1) % L
        hop = -t * D.cdag(i) @ D.c(j)
        H = H + hop + hop.conj().T + V * D.n(i) @ D.n(j)
    return D.sector_eigvals(H, N=N)


# --- [sweep] ---------------------------------------------------------------------------------
def test_sweep_points_product_zip_and_ranges():
    job = parse_job({"model": {"type": "tV"}, "sweep": {"V": [1, 2], "sector.N": [2, 3, 4]}})
    points = sweep_points(job)
    assert [p.values for p in points[:4]] == [{"V": 1, "sector.N": 2}, {"V": 1, "sector.N": 3},
                                              {"V": 1, "sector.N": 4}, {"V": 2, "sector.N": 2}]
    assert len(points) == 6 and all(p.total == 6 for p in points)
    job = parse_job({"model": {}, "sweep": {"V": [1, 2], "t": [3, 4], "mode": "zip"}})
    assert [p.values for p in sweep_points(job)] == [{"V": 1, "t": 3}, {"V": 2, "t": 4}]
    job = parse_job({"model": {}, "sweep": {"U": {"start": 0.0, "stop": 1.0, "num": 5}}})
    assert np.allclose([p.values["U"] for p in sweep_points(job)], [0, 0.25, 0.5, 0.75, 1.0])
    job = parse_job({"model": {}, "sweep": {"L": {"start": 4, "stop": 10, "step": 2}}})
    assert [p.values["L"] for p in sweep_points(job)] == [4, 6, 8, 10]
    assert sweep_points(parse_job({"model": {}})) is None


@pytest.mark.parametrize("sweep, needle", [
    ({"V": [1], "t": [1, 2], "mode": "zip"}, "lists of one length"),
    ({"mode": "cartesian", "V": [1]}, "[sweep] mode"),
    ({}, "no parameter to sweep"),
    ({"output.path": ["a.h5"]}, "section one of lattice, model, sector, solver"),
    ({"V": []}, "[sweep] V: expected a non-empty list"),
    ({"V": {"start": 0, "stop": 1}}, "either num"),
    ({"V": {"start": 0, "stop": 1, "step": -1}}, "[sweep] V.step"),
    ({"V": {"start": 0, "stop": 1, "num": 2, "count": 3}}, "'count'"),
])
def test_bad_sweeps_are_clear_errors(sweep, needle):
    with pytest.raises(ConfigError) as e:
        sweep_points(parse_job({"model": {}, "sweep": sweep}))
    assert needle in str(e.value)


def test_a_sweep_runs_point_by_point_equals_dense_and_resumes(tmp_path, capsys):
    """Every point equals its dense reference; a second run skips the points that are done and
    redoes a removed one; a swept key the model does not know is its section's clear error."""
    job = write(tmp_path, TV_SWEEP)
    out = tmp_path / "tv.h5"
    code, stdout, err = run_main(capsys, "run", job, "-o", str(out))
    assert code == 0, err
    assert "sweep: 6 points" in stdout
    for k, (V, t) in enumerate([(0.0, 1.0), (0.0, 0.5), (1.5, 1.0), (1.5, 0.5), (4.0, 1.0), (4.0, 0.5)]):
        r = read_results(str(tmp_path / "tv" / f"p{k:04d}.h5"))
        assert r["sweep"] == {"index": k, "points": 6, "parameters": {"V": V, "model.t": t}}
        assert np.allclose(r["eigenvalues"][:2], tv_reference(V, t)[:2], atol=1e-10), (k, V, t)
    os.remove(tmp_path / "tv" / "p0003.h5")
    code, stdout, err = run_main(capsys, "run", job, "-o", str(out))
    assert code == 0, err
    assert stdout.count("done already") == 5 and "point 3 of 6" in stdout
    assert np.allclose(read_results(str(tmp_path / "tv" / "p0003.h5"))["eigenvalues"][:2],
                       tv_reference(1.5, 0.5)[:2], atol=1e-10)
    code, stdout, err = run_main(capsys, "run", job, "-o", str(out), "--point", "1", "--force")
    assert code == 0 and "point 1 of 6" in stdout and "done already" not in stdout, err
    code, _, err = run_main(capsys, "run", job, "-o", str(out), "--point", "6")
    assert_clear_error(code, err, "--point", "from 0 to 5")
    bad = write(tmp_path, TV_SWEEP.replace("V = [0.0", "Vee = [0.0"), name="bad.toml")
    code, _, err = run_main(capsys, "run", bad, "-o", str(tmp_path / "bad.h5"))
    assert_clear_error(code, err, "Vee")
    plain = write(tmp_path, TV_SWEEP.split("[sweep]")[0], name="plain.toml")
    code, _, err = run_main(capsys, "run", plain, "--point", "0", "-o", str(tmp_path / "plain.h5"))
    assert_clear_error(code, err, "--point 0", "has no [sweep]")


def test_collect_gathers_a_sweep_and_leaves_out_what_is_incomplete(tmp_path, capsys):
    job = write(tmp_path, TV_SWEEP)
    code, _, err = run_main(capsys, "run", job, "-o", str(tmp_path / "tv.h5"), "-q")
    assert code == 0, err
    directory = tmp_path / "tv"
    os.remove(directory / "p0004.h5")  # a point not run yet
    # a file that is not complete (as a killed run's would be) is never read as a result
    import shutil
    from fockmpi.runtime import import_h5py
    shutil.copy(directory / "p0005.h5", directory / "p0009.h5")
    with import_h5py().File(directory / "p0009.h5", "a") as f:
        f.attrs["complete"] = False
    (directory / "p0004.h5.vm-1.tmp").write_text("")
    code, stdout, err = run_main(capsys, "collect", str(directory), "--levels", "2")
    assert code == 0, err
    assert "p0009.h5 is incomplete" in stdout and "1 of 6 points have no results yet: 4" in stdout
    assert "1 temporary file" in stdout
    with open(directory / "collected.csv") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["point"]) for r in rows] == [0, 1, 2, 3, 5]
    for r in rows:
        ref = tv_reference(float(r["V"]), float(r["model.t"]))
        assert np.allclose([float(r["E0"]), float(r["E1"])], ref[:2], atol=1e-10)
        assert r["sector"] == "N=3" and int(r["dimension"]) == 20
    with import_h5py().File(directory / "collected.h5", "r") as f:
        assert f.attrs["complete"] and json.loads(f.attrs["columns"])[:3] == ["point", "V", "model.t"]
        assert np.allclose(f["E0"][()], [float(r["E0"]) for r in rows])
    try:
        import matplotlib  # noqa: F401
        assert os.path.getsize(directory / "collected.png") > 1000
    except ImportError:
        pass
    code, _, err = run_main(capsys, "collect", str(directory))
    assert_clear_error(code, err, "collected.csv exists already", "--force")
    code, _, err = run_main(capsys, "collect", str(tmp_path / "nowhere"))
    assert_clear_error(code, err, "no such directory")


# --- fockmpi submit --dry-run ----------------------------------------------------------------
RING = """
[lattice]
type = "chain"
size = [12]

[model]
type = "heisenberg"

[sector]
Sz = 0
"""


def test_dry_run_renders_the_batch_script(tmp_path, capsys):
    job = write(tmp_path, RING + textwrap.dedent("""
        [slurm]
        ranks = 4
        time = "2:00:00"
        partition = "compute"
        account = "proj"
        setup = ["module load petsc", "source /opt/ed/bin/activate"]
        sbatch = ["--constraint=ib", "#SBATCH --exclusive"]
        warning = 600
        """))
    code, script, err = run_main(capsys, "submit", job, "--dry-run", "--qos", "long", "-o", str(tmp_path / "r.h5"))
    assert code == 0, err
    for line in ("#SBATCH --ntasks=4", "#SBATCH --time=2:00:00", "#SBATCH --partition=compute",
                 "#SBATCH --account=proj", "#SBATCH --qos=long", "#SBATCH --signal=B:USR1@600", "#SBATCH --requeue",
                 "#SBATCH --constraint=ib", "#SBATCH --exclusive", "module load petsc",
                 "source /opt/ed/bin/activate", "srun --mpi=pmix", f"#SBATCH --chdir={os.getcwd()}",
                 "scontrol requeue", f"-o {tmp_path / 'r.h5'}"):
        assert line in script, line
    assert "{{" not in script and "--array" not in script
    mem = [line for line in script.splitlines() if line.startswith("#SBATCH --mem=")]
    assert len(mem) == 1 and mem[0].endswith("G")
    subprocess.run(["bash", "-n"], input=script, text=True, check=True)  # valid bash
    # the command line wins over [slurm]
    code, script, err = run_main(capsys, "submit", job, "--dry-run", "--time", "30", "--mem", "12",
                                 "--launcher", "mpirun", "-o", str(tmp_path / "r.h5"))
    assert code == 0 and "#SBATCH --time=30\n" in script and "#SBATCH --mem=12G" in script, err
    assert 'mpirun -n "$SLURM_NTASKS"' in script


def test_a_sweep_is_submitted_as_an_array(tmp_path, capsys):
    job = write(tmp_path, TV_SWEEP + "[slurm]\nparallel = 2\n")
    code, script, err = run_main(capsys, "submit", job, "--dry-run")
    assert code == 0, err
    assert "#SBATCH --array=0-5%2" in script and '--point "$SLURM_ARRAY_TASK_ID"' in script
    assert "%A_%a.out" in script


@pytest.mark.parametrize("slurm, flags, needles", [
    ("time = '1:xx'", [], ["[slurm] time", "Slurm time limit"]),
    ("time = 5\nwarning = 300", [], ["[slurm] warning", "fewer seconds than the time limit"]),
    ("tiem = '1:00:00'", [], ["unknown key 'tiem'", "did you mean 'time'"]),
    ("ranks = 0", [], ["[slurm] ranks", "of at least 1"]),
    ("ranks = 2\nnodes = 3", [], ["[slurm] nodes", "at most as many nodes as ranks"]),
    ('setup = "a\\nb"', [], ["[slurm] setup", "one line per list entry"]),
    ("", ["--time", "soon"], ["--time", "Slurm time limit"]),
    ("", ["--mem", "-3"], ["--mem", "positive"]),
    ("", ["--force", "--resume"], ["contradict"]),
    ("", ["--template", "/nonexistent.sbatch"], ["--template", "no such file"]),
])
def test_bad_slurm_settings_are_clear_errors(tmp_path, capsys, slurm, flags, needles):
    job = write(tmp_path, RING + "[slurm]\n" + slurm + "\n")
    code, out, err = run_main(capsys, "submit", job, "--dry-run", "-o", str(tmp_path / "r.h5"), *flags)
    assert_clear_error(code, err, *needles)
    assert out == ""


def test_submit_refuses_what_run_would_refuse(tmp_path, capsys):
    """Existing results or checkpoint, a broken job: refused at the login node, not in the queue."""
    job = write(tmp_path, RING)
    (tmp_path / "r.h5").write_text("x")
    code, _, err = run_main(capsys, "submit", job, "--dry-run", "-o", str(tmp_path / "r.h5"))
    assert_clear_error(code, err, "exists already", "--force")
    (tmp_path / "r.checkpoint.h5").write_text("x")
    code, _, err = run_main(capsys, "submit", job, "--dry-run", "-o", str(tmp_path / "s.h5"))
    assert code == 0, err  # (another output, another checkpoint)
    os.remove(tmp_path / "r.h5")
    code, _, err = run_main(capsys, "submit", job, "--dry-run", "-o", str(tmp_path / "r.h5"))
    assert_clear_error(code, err, "a checkpoint of an earlier run", "--resume")
    code, script, err = run_main(capsys, "submit", job, "--dry-run", "-o", str(tmp_path / "r.h5"), "--resume")
    assert code == 0 and 'mode="--resume"; fi' in script, err
    bad = write(tmp_path, RING.replace("heisenberg", "heisenberk"), name="bad.toml")
    code, _, err = run_main(capsys, "submit", bad, "--dry-run")
    assert_clear_error(code, err, "[model] type", "heisenberg")


# --- the batch script's requeue logic, with stand-ins for srun and scontrol -------------------
@pytest.mark.parametrize("exit_code, restart, warned, requeued, final", [
    (0, 0, False, False, 0),      # done
    (75, 0, False, True, 0),      # stopped for a checkpoint: requeued
    (75, 3, False, False, 75),    # ... but the requeues are used up (requeues = 3)
    (1, 0, False, False, 1),      # a failure is not requeued
    (2, 0, False, False, 2),      # nor bad input
    (138, 0, True, True, 0),      # the warning (SIGUSR1) killed the run before it could take it
    (138, 0, False, False, 138),  # SIGUSR1 from elsewhere: not requeued
])
def test_the_script_requeues_only_a_checkpointed_run(tmp_path, capsys, exit_code, restart, warned, requeued, final):
    job = write(tmp_path, RING)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "calls"
    (bin_dir / "scontrol").write_text(f"#!/bin/sh\necho \"$@\" >> {calls}\n")
    # the launcher stand-in: what `srun ... fockmpi run` would do, optionally after the warning
    launcher = bin_dir / "launch"
    launcher.write_text(textwrap.dedent(f"""\
        #!/bin/bash
        echo "$@" > {tmp_path / 'argv'}
        {'kill -USR1 $PPID; sleep 0.5' if warned else ''}
        exit {exit_code}
        """))
    for f in bin_dir.iterdir():
        f.chmod(0o755)
    code, script, err = run_main(capsys, "submit", job, "--dry-run", "--launcher", str(launcher), "--requeues", "3",
                                 "-o", str(tmp_path / "r.h5"))
    assert code == 0, err
    env = dict(os.environ, PATH=f"{bin_dir}:{os.environ['PATH']}", SLURM_JOB_ID="42",
               SLURM_RESTART_COUNT=str(restart))
    done = subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True, timeout=30, cwd=tmp_path)
    assert done.returncode == final, done.stdout + done.stderr
    assert os.path.exists(calls) == requeued, done.stdout
    if requeued:
        assert calls.read_text().split() == ["requeue", "42"]
    argv = (tmp_path / "argv").read_text()
    assert ("--resume" in argv) == (restart > 0), argv  # a restart goes on from the checkpoint


# --- files that cannot be written: found before the work, not after it ------------------------
def test_an_unwritable_checkpoint_path_is_refused_before_any_work(tmp_path, capsys):
    (tmp_path / "afile").write_text("")
    job = write(tmp_path, RING + f"[checkpoint]\npath = '{tmp_path}/afile/ck.h5'\n")
    code, out, err = run_main(capsys, "run", job, "-o", str(tmp_path / "r.h5"))
    assert_clear_error(code, err, f"[checkpoint] path {tmp_path}/afile/ck.h5", "cannot write there")
    assert "dim" not in out and not os.path.exists(tmp_path / "r.h5")


def test_a_full_disk_is_refused_before_the_solve(tmp_path, capsys, monkeypatch):
    """The results file and the checkpoint must fit on their disk (here: 1 MiB free)."""
    real = os.statvfs

    class Full:
        def __init__(self, st):
            self.f_frsize, self.f_bavail = st.f_frsize, 2 ** 20 // st.f_frsize
    monkeypatch.setattr(os, "statvfs", lambda p: Full(real(p)))
    job = write(tmp_path, RING.replace("[12]", "[16]"))
    code, out, err = run_main(capsys, "run", job, "-o", str(tmp_path / "r.h5"))
    assert_clear_error(code, err, "not enough disk space", "r.h5", "r.checkpoint.h5", "1 MiB free")
    assert "solve" not in out and not os.path.exists(tmp_path / "r.h5")
    monkeypatch.setattr(os, "statvfs", real)
    code, out, err = run_main(capsys, "run", job, "-o", str(tmp_path / "r.h5"))
    assert code == 0, err


# --- jobs over every symmetry sector ("all") resume sector by sector -------------------------
ALL_SECTORS = """
[lattice]
type = "chain"
size = [16]

[model]
type = "heisenberg"
J2 = 0.3

[sector]
Sz = 0
momentum = 0
reflection = "all"
spin_flip = "all"

[solver]
nev = 2
tol = 1e-11

[checkpoint]
interval = 0
"""


def test_all_sectors_resume_keeping_the_finished_ones(tmp_path, capsys, monkeypatch):
    """A stop requested during the last of four sectors' solve (as SIGTERM would) leaves a checkpoint
    with three finished sectors and the fourth's Ritz vectors; --resume solves none of the three
    again, goes on with the fourth from its vectors, and the tower equals an uninterrupted run."""
    from fockmpi.app import pipeline
    from fockmpi.errors import CHECKPOINTED_EXIT
    job = write(tmp_path, ALL_SECTORS)
    code, _, err = run_main(capsys, "run", job, "-o", str(tmp_path / "ref.h5"), "-q")
    assert code == 0, err
    reference = read_results(str(tmp_path / "ref.h5"))
    original = pipeline._SectorsCheckpoint.solve_checkpoint
    calls = []

    def stopping(self, label, basis):
        checkpoint = original(self, label, basis)
        calls.append(label)
        if len(calls) == 4:
            checkpoint.request_stop(15)  # SIGTERM, at the first iteration of this sector's solve
        return checkpoint
    monkeypatch.setattr(pipeline._SectorsCheckpoint, "solve_checkpoint", stopping)
    out = str(tmp_path / "tower.h5")
    code, stdout, err = run_main(capsys, "run", job, "-o", out)
    assert code == CHECKPOINTED_EXIT and "the solve is checkpointed in" in err, err
    assert "interrupted by SIGTERM" in err and not os.path.exists(out)
    assert stdout.count(" dim ") == 3  # three sectors finished before the stop
    monkeypatch.setattr(pipeline._SectorsCheckpoint, "solve_checkpoint", original)
    code, _, err = run_main(capsys, "run", job, "-o", out)
    assert_clear_error(code, err, "a checkpoint of an earlier run", "--resume")
    code, stdout, err = run_main(capsys, "run", job, "-o", out, "--resume")
    assert code == 0, err
    assert "3 sector(s) finished" in stdout and f"{calls[3]} goes on from its checkpoint" in stdout, stdout
    assert stdout.count("solved before the restart") == 3
    found = read_results(out)
    assert np.allclose(found["eigenvalues"], reference["eigenvalues"], atol=1e-10)
    assert [s["label"] for s in found["sectors"]] == [s["label"] for s in reference["sectors"]]
    assert found["solver"]["restarts"] == 1 and not os.path.exists(tmp_path / "tower.checkpoint.h5")


# --- SIGKILL at any moment: nothing corrupt is ever accepted, --resume always finishes ---------
FAULT_JOB = """
[lattice]
type = "chain"
size = [20]

[model]
type = "heisenberg"
J2 = 0.5

[sector]
Sz = 0

[solver]
nev = 2
tol = 1e-12
complete_multiplets = false

[checkpoint]
interval = 0.005
"""

# (the line a trial waits for, seconds after it): the run is ~1 s of start, the basis and the
# matrix, ~2.5 s of solve with a checkpoint every 0.3 s (its line is printed just before it is
# written), and the output; "" is the start of mpirun.  Ten moments: start-up, assembly, within a
# checkpoint's write and between two, within the results' write and after it.
KILL_MOMENTS = [("", 1.0), ("| dim ", 0.0), ("solve: checkpoint", 0.0), ("solve: checkpoint", 0.02),
                ("solve: checkpoint", 0.15), ("solve: checkpoint", 0.5), ("solve: checkpoint", 1.0),
                ("output: writing", 0.0), ("output: writing", 0.02), ("output: writing", 0.06)]


@pytest.fixture(scope="module")
def fault_reference(tmp_path_factory):
    from test_cli import fockmpi
    d = tmp_path_factory.mktemp("fault")
    (d / "job.toml").write_text(FAULT_JOB)
    r = fockmpi("run", str(d / "job.toml"), "-o", str(d / "ref.h5"), "-q", ranks=2)
    assert r.returncode == 0, r.stderr
    return read_results(str(d / "ref.h5"))["eigenvalues"]


def _complete_or_absent(path):
    """A file under a final name is complete and readable, or absent."""
    from fockmpi.runtime import import_h5py
    if not os.path.exists(path):
        return None
    with import_h5py().File(path, "r") as f:
        assert f.attrs["complete"], path
    return path


@pytest.mark.parametrize("needle, delay", KILL_MOMENTS)
def test_sigkill_at_any_moment_then_resume_finishes(tmp_path, fault_reference, needle, delay):
    import signal
    import subprocess
    from test_cli import FOCKMPI, MPI_ENV
    from test_hostile import _rank_pids, _wait_for

    from fockmpi.io.results import _alive
    job = tmp_path / "job.toml"
    job.write_text(FAULT_JOB)
    out, ckpt = tmp_path / "r.h5", tmp_path / "r.checkpoint.h5"
    p = subprocess.Popen(["mpirun", "-n", "2"] + FOCKMPI + ["run", str(job), "-o", str(out)], cwd=ROOT,
                         env=MPI_ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         start_new_session=True)
    try:
        if needle:
            _wait_for(p, needle)
        time.sleep(delay)
        ranks = _rank_pids(p.pid)
        os.killpg(p.pid, signal.SIGKILL)  # mpirun and every rank at once, no handler runs
        for pid in ranks:  # (a rank outside mpirun's process group would go on and finish)
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        p.communicate(timeout=30)
        while any(_alive(pid) for pid in ranks):
            time.sleep(0.05)
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
    finished = _complete_or_absent(out)
    checkpointed = _complete_or_absent(ckpt)
    if finished:  # killed after the results got their name: they are whole
        assert np.allclose(read_results(str(out))["eigenvalues"], fault_reference, atol=1e-10)
        return
    resumed = subprocess.run(["mpirun", "-n", "2"] + FOCKMPI + ["run", str(job), "-o", str(out), "--resume"],
                             cwd=ROOT, env=MPI_ENV, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    # from the checkpoint on disk (a complete one), or from the beginning when there was none
    assert ("resume: from" if checkpointed else "resume: no checkpoint") in resumed.stdout, resumed.stdout
    r = read_results(str(out))
    assert np.allclose(r["eigenvalues"], fault_reference, atol=1e-10)
    left = sorted(f.name for f in tmp_path.iterdir() if f.name.endswith(".tmp"))
    assert not left, left  # the killed run's temporaries were removed
    assert not os.path.exists(ckpt)


import time  # noqa: E402 - (used by the fault tests above)


# --- a symmetric basis that took long to find goes into the checkpoint ------------------------
SYMMETRIC_JOB = """
[lattice]
type = "chain"
size = [18]

[model]
type = "heisenberg"
J2 = 0.3

[sector]
Sz = 0
momentum = 0
spin_flip = 1

[solver]
nev = 2
tol = 1e-11

[checkpoint]
interval = 0
"""


def test_a_checkpoint_keeps_a_costly_symmetric_basis(tmp_path, capsys, monkeypatch):
    """When finding the basis took longer than writing and reading it back would (the rule's
    bandwidth made generous, then stingy), the checkpoint holds the representatives and the
    resumed run reads them instead of searching; either way it reaches the uninterrupted levels."""
    from fockmpi.app import pipeline
    from fockmpi.errors import CHECKPOINTED_EXIT
    from fockmpi.runtime import import_h5py
    from fockmpi.solvers.checkpointing import SolveCheckpoint
    job = write(tmp_path, SYMMETRIC_JOB)
    code, _, err = run_main(capsys, "run", job, "-o", str(tmp_path / "ref.h5"), "-q")
    assert code == 0, err
    reference = read_results(str(tmp_path / "ref.h5"))["eigenvalues"]
    due = SolveCheckpoint.due

    def stop_now(self):
        self.request_stop(10)
        return due(self)
    for bandwidth, stored in ((1e20, True), (1.0, False)):
        out = tmp_path / f"r{int(stored)}.h5"
        monkeypatch.setattr(pipeline, "CHECKPOINT_BANDWIDTH", bandwidth)
        monkeypatch.setattr(SolveCheckpoint, "due", stop_now)
        code, _, err = run_main(capsys, "run", job, "-o", str(out))
        assert code == CHECKPOINTED_EXIT, err
        with import_h5py().File(tmp_path / f"r{int(stored)}.checkpoint.h5", "r") as f:
            assert ("basis_states" in f) == stored
        monkeypatch.setattr(SolveCheckpoint, "due", due)
        code, stdout, err = run_main(capsys, "run", job, "-o", str(out), "--resume")
        assert code == 0, err
        assert ("representatives read from" in stdout) == stored, stdout
        assert np.allclose(read_results(str(out))["eigenvalues"], reference, atol=1e-10)


def test_a_half_written_checkpoint_of_a_killed_run_is_removed(tmp_path, capsys):
    """A killed run's temporary checkpoint (its process is gone) is removed at the next start;
    one of a live process on this host is left alone."""
    import socket
    job = write(tmp_path, RING)
    host = socket.gethostname()
    dead = tmp_path / f"r.checkpoint.h5.{host}-{2 ** 22 + 12345}.tmp"
    live = tmp_path / f"r.checkpoint.h5.{host}-{os.getpid()}.tmp"
    dead.write_text("half")
    live.write_text("in progress")
    code, _, err = run_main(capsys, "run", job, "-o", str(tmp_path / "r.h5"), "-q")
    assert code == 0, err
    assert not dead.exists() and live.exists()
