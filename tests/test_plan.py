"""The planner (fockmpi.app.plan, `fockmpi plan`): its memory estimate against the measured peak of
three runs, the storage choice of "auto", and the refusal of a job that does not fit."""
import os
import subprocess
import sys

import pytest
from test_cli import fockmpi, write

from fockmpi.jobfile.table import parse_job
from fockmpi.app.pipeline import build_problem
from fockmpi.app.plan import estimate, fit_problem, recommend

HERE = os.path.dirname(os.path.abspath(__file__))

JOB = """
[lattice]
type = "chain"
size = [20]
[model]
type = "heisenberg"
[sector]
Sz = 0
[solver]
storage = "{storage}"
"""


def problem(storage="auto", size=20):
    return build_problem(parse_job({"lattice": {"type": "chain", "size": [size]}, "model": {"type": "heisenberg"},
                                    "sector": {"Sz": 0}, "solver": {"storage": storage}}))


def test_estimates_are_within_20_percent_of_the_measured_peaks():
    script = os.path.join(os.path.dirname(HERE), "scaling", "check_plan.py")
    r = subprocess.run([sys.executable, script, "--cases", "small"], capture_output=True, text=True, timeout=600,
                       check=False)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.count("\n") >= 4, r.stdout


def test_matrix_free_needs_less_and_is_recommended_when_memory_is_short():
    est = estimate(problem(size=24), ranks=2)
    assert est.dimension == 2704156 and est.exact and 12 < est.per_row < 15
    assert 0 < est.remote_share < 1
    assert est.total("shell") < est.total("aij")
    plenty, short = 64 * 2 ** 30, 0.8 * est.total("aij") * 2 / 0.7
    assert recommend(est, plenty, 2)[0] == "aij"
    storage, nodes, per_node = recommend(est, short, 2)
    assert storage == "shell" and nodes == 1 and per_node == 2


def test_a_job_that_does_not_fit_is_refused_with_the_numbers():
    est = estimate(problem(), ranks=1)
    err = fit_problem(est, "aij", 0.9 * est.total("aij"))
    assert err is not None and "storage = \"shell\"" in str(err) and "GiB per rank" in str(err)
    assert fit_problem(est, "auto", 0.9 * est.total("aij")) is None  # auto falls back to shell
    assert "even the matrix-free" in str(fit_problem(est, "shell", 0.5 * est.total("shell")))
    assert fit_problem(est, "aij", 2 * est.total("aij")) is None


def test_plan_prints_both_storages_and_a_slurm_line(tmp_path):
    job = write(tmp_path, JOB.format(storage="auto"))
    r = fockmpi("plan", job, "-n", "4", "--memory", "64", "--cores", "32")
    assert r.returncode == 0, r.stderr
    for text in ("dimension 184756", "stored (aij)", "matrix-free (shell)", "recommended: storage = \"aij\"",
                 "#SBATCH --nodes=1 --ntasks=4", "srun --mpi=pmix fockmpi run"):
        assert text in r.stdout, r.stdout
    r = fockmpi("plan", job, "--memory", "-1")
    assert r.returncode == 2 and "--memory" in r.stderr


@pytest.mark.parametrize("storage", ["aij", "shell"])
def test_run_refuses_what_does_not_fit_unless_forced(tmp_path, storage, monkeypatch):
    import fockmpi.app.pipeline as pipeline
    from fockmpi.errors import CapacityError
    p = problem(storage)
    need = estimate(p, 1).total(storage)
    monkeypatch.setattr(pipeline, "available_memory_bytes", lambda: 0.9 * need)
    found = pipeline.capacity_problems(p, 1, ranks_on_node=1)
    assert found and isinstance(found[0], CapacityError) and "GiB" in str(found[0])
    assert pipeline.capacity_problems(p, 1, ranks_on_node=1, force=True) == []
