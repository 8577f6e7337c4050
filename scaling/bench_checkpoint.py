"""What checkpoints cost and what a restart saves, measured on one large job.

Run 1 solves the job with a checkpoint every ``--interval`` minutes and is stopped by SIGUSR1
(as Slurm's warning would) once ``--stop-after`` checkpoints are on disk; run 2 resumes it.
From the two runs' output and files: the time of every phase, each checkpoint's write time and
size, the products its Rayleigh-Ritz costs, the basis search (run 1) against reading the basis
back from the checkpoint (run 2), and the energy of the resumed run against the job's.

    python scaling/bench_checkpoint.py jobs/heisenberg_square6x6_gamma.toml -n 2 --interval 1
    (writes docs/benchmarks_checkpoint.json; the numbers go to docs/design/production.md)
"""
import argparse
import json
import os
import re
import signal
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENV = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
           OMPI_MCA_rmaps_base_oversubscribe="1")


def run(cmd, stop_after=None):
    """(stdout lines with their times, stderr, exit status, wall seconds); with ``stop_after``,
    SIGUSR1 to every rank once that many checkpoints were announced."""
    t0 = time.time()
    p = subprocess.Popen(cmd, cwd=ROOT, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         start_new_session=True)
    lines, saves = [], 0
    for line in p.stdout:
        lines.append((time.time() - t0, line.rstrip()))
        print(f"{time.time() - t0:8.1f}  {line.rstrip()}", flush=True)
        if "solve: checkpoint after" in line:
            saves += 1
            if stop_after is not None and saves >= stop_after:
                ranks = subprocess.run(["pgrep", "-P", str(p.pid)], capture_output=True, text=True).stdout.split()
                for pid in ranks:
                    os.kill(int(pid), signal.SIGUSR1)
                stop_after = None
    err = p.stderr.read()
    p.wait()
    return lines, err, p.returncode, time.time() - t0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("job")
    ap.add_argument("-n", "--ranks", type=int, default=2)
    ap.add_argument("--interval", type=float, default=1.0, help="minutes between checkpoints in run 1")
    ap.add_argument("--stop-after", type=int, default=2, help="checkpoints before the SIGUSR1 in run 1")
    ap.add_argument("--out", default=os.path.join(ROOT, "docs", "benchmarks_checkpoint.json"))
    args = ap.parse_args()
    sys.path.insert(0, ROOT)
    from fockmpi.io.results import read_results
    from fockmpi.runtime import import_h5py
    work = os.path.join(ROOT, "results", "bench_checkpoint")
    os.makedirs(work, exist_ok=True)
    job = os.path.join(work, "job.toml")
    with open(args.job) as f:
        text = f.read()
    text = re.sub(r"(?ms)^\[checkpoint\].*?(?=^\[|\Z)", "", text)
    with open(job, "w") as f:
        f.write(text + f"\n[checkpoint]\ninterval = {args.interval}\npath = \"{work}/ckpt.h5\"\n")
    out = os.path.join(work, "run.h5")
    for stale in (out, os.path.join(work, "ckpt.h5")):
        if os.path.exists(stale):
            os.remove(stale)
    fockmpi = ["mpirun", "-n", str(args.ranks), sys.executable, "-m", "fockmpi", "run", job, "-o", out]
    lines1, err1, code1, wall1 = run(fockmpi, stop_after=args.stop_after)
    assert code1 == 75, err1
    with import_h5py().File(os.path.join(work, "ckpt.h5"), "r") as f:
        size = os.path.getsize(os.path.join(work, "ckpt.h5"))
        stored_basis = "basis_states" in f
        vectors = f["vectors"].shape
    lines2, err2, code2, wall2 = run(fockmpi + ["--resume"])
    assert code2 == 0, err2
    r = read_results(out)

    def at(lines, needle):
        return next((t for t, line in lines if needle in line), None)
    record = {
        "job": os.path.relpath(args.job, ROOT), "ranks": args.ranks, "interval_minutes": args.interval,
        "dimension": int(r["sector"]["dimension"]), "E0": float(r["eigenvalues"][0]),
        "run1": {"wall": wall1, "basis_found_at": at(lines1, "basis:"), "solve_started_at": at(lines1, "solve:"),
                 "checkpoint_lines": [(t, line) for t, line in lines1 if "checkpoint" in line]},
        "checkpoint_file": {"bytes": size, "vectors": list(vectors), "stores_basis": stored_basis},
        "run2": {"wall": wall2, "basis_line": next((line for _, line in lines2 if "representatives read" in line), None),
                 "timings": {k: v["max"] for k, v in r["timings"].items()},
                 "solver": {k: (v.item() if hasattr(v, "item") else v) for k, v in r["solver"].items()}},
        "stderr1": err1.strip().splitlines()[-2:],
    }
    with open(args.out, "w") as f:
        json.dump(record, f, indent=1, default=str)
    print(json.dumps(record, indent=1, default=str))


if __name__ == "__main__":
    main()
