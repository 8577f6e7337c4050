"""``fockmpi submit`` against a real Slurm: a private one-node cluster started for these tests
(tests/slurm_cluster.py; slurm-wlm and munge are installed when missing) and stopped, every
daemon by its PID, at the end, also when a test fails.

- a submitted job completes under ``srun --mpi=pmix`` on 2 ranks with the dense reference's levels;
- a job whose time limit is too short gets Slurm's warning in the solve, checkpoints, requeues
  itself and completes with the exact levels;
- a sweep runs as a job array and ``fockmpi collect`` gathers it.
"""
import os
import re
import time

import numpy as np
import pytest
from test_production import TV_SWEEP, tv_reference

from fockmpi.io.results import read_results

@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    from slurm_cluster import LocalSlurm, install_packages
    why = install_packages()
    if why:
        pytest.skip(why)
    state = tmp_path_factory.mktemp("slurm")
    c = LocalSlurm(str(state))
    try:
        c.start()
        yield c
    finally:
        c.stop()


def submit(cluster, workdir, *args):
    """``fockmpi submit ARGS`` from ``workdir`` against ``cluster``: the job id."""
    import subprocess
    import sys
    from test_cli import MPI_ENV
    env = dict(MPI_ENV, SLURM_CONF=cluster.conf)
    done = subprocess.run([sys.executable, "-m", "fockmpi", "submit", *args], cwd=workdir, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "submitted" in done.stdout
    return done.stdout.split()[-1]


def log_of(path_pattern):
    with open(path_pattern) as f:
        return f.read()


HUBBARD = """
[lattice]
type = "chain"
size = [4]

[model]
type = "hubbard"
U = 3.0

[sector]
N_up = 2
N_dn = 2

[solver]
nev = 3
"""


def test_a_submitted_job_completes_with_correct_levels(cluster, tmp_path):
    from dense_reference import DenseSystem
    (tmp_path / "hub.toml").write_text(HUBBARD)
    job_id = submit(cluster, tmp_path, "hub.toml", "-n", "2", "--time", "5", "--warning", "60")
    records = cluster.wait(job_id, timeout=180)
    log = log_of(tmp_path / "results" / f"hub.{job_id}.out")
    assert records[0]["JobState"] == "COMPLETED", log
    assert "2 ranks" in log and "run ended with exit status 0" in log
    r = read_results(str(tmp_path / "results" / "hub.h5"))
    assert r["provenance"]["slurm_job"] == job_id and int(r["provenance"]["ranks"]) == 2
    D = DenseSystem(["electron"] * 4)
    H = 0
    for i in range(4):
        j = (i + 1) % 4
        for s in ("up", "dn"):
            hop = -D.cdag(i, s) @ D.c(j, s)
            H = H + hop + hop.conj().T
        H = H + 3.0 * D.n(i, "up") @ D.n(i, "dn")
    assert np.allclose(r["eigenvalues"][:3], D.sector_eigvals(H, N_up=2, N_dn=2)[:3], atol=1e-10)
    assert os.path.exists(tmp_path / "results" / f"hub.{job_id}.sbatch")  # what was submitted


# The Majumdar-Ghosh ring (J2 = J/2): two exact dimer ground states, E0 = E1 = -3 L / 8.  24 sites,
# stored, a lean Krylov space (ncv = 9) at tol 1e-12 with the multiplet check: ~60 s on 2 ranks here.
# Slurm's timer ticks every 30 s and sends the warning when the limit is less than warning + 30 s
# away, so with time = 1 min and warning = 20 s it comes 10-40 s into the job: always during the
# solve (the basis and the matrix take ~4 s), never after the run has ended.
MAJUMDAR_GHOSH = """
[lattice]
type = "chain"
size = [24]

[model]
type = "heisenberg"
J2 = 0.5

[sector]
Sz = 0

[solver]
nev = 3
ncv = 9
tol = 1e-12

[checkpoint]
interval = 0
"""


def test_a_too_short_time_limit_checkpoints_requeues_and_completes(cluster, tmp_path):
    (tmp_path / "mg.toml").write_text(MAJUMDAR_GHOSH)
    job_id = submit(cluster, tmp_path, "mg.toml", "-n", "2", "--time", "1", "--warning", "20")
    log_path = tmp_path / "results" / f"mg.{job_id}.out"
    # wait for the first requeue, then give the job time enough: Slurm would otherwise warn the
    # resumed run early again (its timer's resolution), and each round costs a requeue (~35 s)
    deadline = time.monotonic() + 150
    while time.monotonic() < deadline:
        if os.path.exists(log_path) and "requeued (restart 1" in log_of(log_path):
            break
        time.sleep(1)
    log = log_of(log_path) if os.path.exists(log_path) else "(no log)"
    assert "requeued (restart 1" in log, log
    cluster.run("scontrol", "update", f"JobId={job_id}", "TimeLimit=10")
    records = cluster.wait(job_id, timeout=300)
    log = log_of(log_path)
    assert records[0]["JobState"] == "COMPLETED" and int(records[0]["Restarts"]) >= 1, (records, log)
    first, second = log.split("requeued (restart 1")
    assert "time-limit warning" in first and "the solve is checkpointed in" in first, log
    assert "interrupted by SIGUSR1" in first and "exit 75" in first, log
    assert "resume: from" in second and "run ended with exit status 0" in second, log
    r = read_results(str(tmp_path / "results" / "mg.h5"))
    assert np.allclose(r["eigenvalues"][:2], [-9.0, -9.0], atol=1e-9)
    assert r["solver"]["restarts"] >= 1 and r["residuals"].max() < 1e-9
    assert not os.path.exists(tmp_path / "results" / "mg.checkpoint.h5")  # served, removed
    checkpoint_line = re.search(r"checkpoint after (\d+) iterations", first)
    assert checkpoint_line, log


def test_a_sweep_runs_as_an_array_and_collect_gathers_it(cluster, tmp_path):
    (tmp_path / "tv.toml").write_text(TV_SWEEP.replace('"model.t" = [1.0, 0.5]', '"model.t" = [1.0]'))
    job_id = submit(cluster, tmp_path, "tv.toml", "-n", "1", "--time", "5", "--warning", "60", "--parallel", "2")
    records = cluster.wait(job_id, timeout=240)
    assert len(records) == 3 and all(r["JobState"] == "COMPLETED" for r in records), records
    import subprocess
    import sys
    done = subprocess.run([sys.executable, "-m", "fockmpi", "collect", "results/tv", "--levels", "2"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    import csv
    with open(tmp_path / "results" / "tv" / "collected.csv") as f:
        rows = list(csv.DictReader(f))
    assert [float(r["V"]) for r in rows] == [0.0, 1.5, 4.0]
    for r in rows:
        assert np.allclose([float(r["E0"]), float(r["E1"])], tv_reference(float(r["V"]), 1.0)[:2], atol=1e-10)
    for k in range(3):  # each task wrote its own log and its point's provenance
        assert read_results(str(tmp_path / "results" / "tv" / f"p{k:04d}.h5"))["provenance"]["slurm_job"].startswith(
            f"{job_id}_{k} ")


def test_a_scaling_study_submitted_point_by_point(cluster, tmp_path):
    """scaling/strong.py --submit: one `fockmpi submit` job per rank count; the report once they end."""
    import csv
    import json
    import subprocess
    import sys
    from test_cli import MPI_ENV
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    (tmp_path / "ring.toml").write_text("[lattice]\ntype = \"chain\"\nsize = [12]\n[model]\ntype = \"heisenberg\"\n"
                                        "[sector]\nSz = 0\n[solver]\nnev = 1\n")
    env = dict(MPI_ENV, SLURM_CONF=cluster.conf, PYTHONPATH=root)
    done = subprocess.run([sys.executable, os.path.join(root, "scaling", "strong.py"), "ring.toml", "--ranks", "1", "2",
                           "--out", "study", "--submit", "--submit-options", "--time 5 --warning 60"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    jobs = json.loads((tmp_path / "study" / "study.json").read_text())["jobs"]
    assert set(jobs) == {"1", "2"} and "fockmpi scaling report" in done.stdout
    for job_id in jobs.values():
        assert cluster.wait(job_id, timeout=180)[0]["JobState"] == "COMPLETED"
    report = subprocess.run([sys.executable, "-m", "fockmpi", "scaling", "report", "study"], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=120)
    assert report.returncode == 0, report.stdout + report.stderr
    with open(tmp_path / "study" / "report.csv") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["ranks"]) for r in rows] == [1, 2] and int(rows[1]["messages"]) == 2
