"""A tiny strong-scaling study end to end (scaling/strong.py on 1, 2 and 3 ranks, then
`fockmpi scaling report`): every column of the table and the plot are there, and the numbers
hold together (one rank moves nothing; two ranks move their ghosts' bytes)."""
import csv
import os
import subprocess
import sys

import pytest

from fockmpi.app import cli
from fockmpi.app.scaling import COLUMNS

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

JOB = """
[lattice]
type = "chain"
size = [14]
[model]
type = "heisenberg"
[sector]
Sz = 0
[solver]
nev = 1
[output]
eigenvectors = false
"""


def test_tiny_strong_study_and_its_report(tmp_path):
    pytest.importorskip("matplotlib")
    job = tmp_path / "tiny.toml"
    job.write_text(JOB)
    out = tmp_path / "study"
    r = subprocess.run([sys.executable, os.path.join(ROOT, "scaling", "strong.py"), str(job), "--ranks", "1", "2", "3",
                        "--out", str(out)], capture_output=True, text=True, timeout=300,
                       env=dict(os.environ, PYTHONPATH=ROOT))
    assert r.returncode == 0, r.stdout + r.stderr
    with open(out / "report.csv") as f:
        rows = list(csv.DictReader(f))
    assert [int(row["ranks"]) for row in rows] == [1, 2, 3]
    assert set(COLUMNS) | {"triad_GBps", "matmult_share_of_triad"} <= set(rows[0])
    one, two, three = rows
    # the triad measured at each rank count (with as many ranks as there are cores for them)
    import json
    triad = json.loads((out / "study.json").read_text())["triad_GBps"]
    assert set(triad) == {"1", "2", "3"} and all(abs(float(row["triad_GBps"]) - triad[row["ranks"]]) < 1e-3 * triad[row["ranks"]] for row in rows)
    assert float(one["bytes_per_product"]) == 0 and int(one["messages"]) == 0
    assert float(two["bytes_per_product"]) == 8 * int(two["ghost_values"]) > 0 and int(two["messages"]) == 2
    assert float(one["speedup_solve"]) == 1.0 and float(two["imbalance_states"]) <= 1.1
    assert int(three["messages"]) >= 4 and float(three["imbalance_states"]) <= 1.1 + 1e-9
    assert float(three["imbalance_nnz"]) <= 1.2
    report = (out / "report.md").read_text()
    assert (out / "report.png").stat().st_size > 20000 and "| ranks |" in report
    assert "## 1 -> 2 ranks" in report  # (which limit each phase meets)
    # a second study into the same directory is refused (nothing replaced) without --force
    again = subprocess.run([sys.executable, os.path.join(ROOT, "scaling", "strong.py"), str(job), "--ranks", "1",
                            "--out", str(out), "--no-triad"], capture_output=True, text=True, timeout=120,
                           env=dict(os.environ, PYTHONPATH=ROOT))
    assert again.returncode == 2 and "--force" in again.stderr and "Traceback" not in again.stderr
    assert (out / "ranks_0002.h5").exists()


def test_triad_of_a_point_between_measured_rank_counts():
    from fockmpi.app.scaling import triad_at
    assert triad_at(20.0, 8) == 20.0
    measured = {"1": 25.0, "2": 30.0}
    assert [triad_at(measured, r) for r in (1, 2, 16)] == [25.0, 30.0, 30.0]


def test_report_of_a_directory_without_results_is_refused(tmp_path, capsys):
    assert cli.main(["scaling", "report", str(tmp_path)]) == 2
    assert "no results files" in capsys.readouterr().err
    assert cli.main(["scaling", "report", str(tmp_path / "missing")]) == 2
    assert "no such directory" in capsys.readouterr().err


def test_weak_study_picks_sizes_near_the_states_per_rank(tmp_path):
    import json
    template = tmp_path / "ring.toml"
    template.write_text(JOB.replace("size = [14]", "size = [$L]"))
    out = tmp_path / "weak"
    r = subprocess.run([sys.executable, os.path.join(ROOT, "scaling", "weak.py"), str(template), "--param",
                        "L=10,12,14", "--ranks", "1", "2", "--states-per-rank", "500", "--out", str(out),
                        "--no-triad"], capture_output=True, text=True, timeout=300,
                       env=dict(os.environ, PYTHONPATH=ROOT))
    assert r.returncode == 0, r.stdout + r.stderr
    study = json.loads((out / "study.json").read_text())
    # Sz = 0 sectors: 252, 924, 3432 states; 500 per rank: L = 10 on one rank, L = 12 on two
    assert {k: (v["L"], v["dimension"]) for k, v in study["points"].items()} == {"1": ("10", 252), "2": ("12", 924)}
    with open(out / "report.csv") as f:
        rows = list(csv.DictReader(f))
    assert [int(row["dimension"]) for row in rows] == [252, 924] and float(rows[0]["efficiency_solve"]) == 1.0
