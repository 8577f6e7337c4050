"""Strong scaling: one job at several rank counts, then its report.

    python scaling/strong.py JOB --ranks 1 2 4 8 [--out DIR] [--storage aij|upper|shell]

Each point runs ``mpirun -n R fockmpi run JOB -o DIR/ranks_RRRR.h5`` (oversubscribed where R
exceeds the cores: then the times say how communication and imbalance grow, not how fast a
cluster would be).  ``--submit`` hands every point to ``fockmpi submit`` instead (one Slurm job
per point, sized by its planner; ``--submit-options`` for the time, partition, ...), and the report
is made once they have ended.  The triad bandwidth is measured in the same call for every rank count, with
as many ranks as run on their own cores (``DIR/study.json``), and ``fockmpi scaling report DIR`` writes the table and the plots.  On a
cluster give ``--launcher "srun"`` (or any command that takes ``-n R``).
"""
import argparse
import json
import os
import shlex
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
ENV = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
           OMPI_MCA_rmaps_base_oversubscribe="1", OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")

TRIAD = """
import sys
sys.path.insert(0, {here!r})
from mpi4py import MPI
from bench_shell import triad_bandwidth
bw = triad_bandwidth(MPI.COMM_WORLD)
if MPI.COMM_WORLD.rank == 0:
    print(bw / 1e9)
"""


def triad_GBps(launcher, ranks=1):
    """The STREAM-triad bandwidth of ``ranks`` ranks together, GB/s."""
    r = subprocess.run(shlex.split(launcher) + ["-n", str(ranks), sys.executable, "-c", TRIAD.format(here=HERE)],
                       env=ENV, capture_output=True, text=True, check=True)
    return float(r.stdout.split()[-1])


def triads(launcher, ranks, cores=None):
    """``{R: GB/s}``: the triad at each rank count of the study, measured with ``min(R, cores)``
    ranks (oversubscribed ranks share the cores' bandwidth; cores: this machine's, or the
    launcher's allocation on a cluster)."""
    cores = cores or os.cpu_count() or 1
    measured = {}
    for r in sorted(set(min(R, cores) for R in ranks)):
        measured[r] = triad_GBps(launcher, r)
    return {str(R): measured[min(R, cores)] for R in ranks}


def prepare_out(out, force):
    """The study's directory, refused (exit 2) when it already holds results, unless ``force``."""
    import glob
    if glob.glob(os.path.join(out, "*.h5")) and not force:
        print(f"error: {out} already holds the results of a study: --force replaces them, or give another --out",
              file=sys.stderr)
        sys.exit(2)
    os.makedirs(out, exist_ok=True)


def submit_point(job, ranks, out, options):
    """Submit one point through ``fockmpi submit`` (its planner sizes the nodes and memory; its
    script requeues from checkpoints); returns the Slurm job id."""
    path = os.path.join(out, f"ranks_{ranks:04d}.h5")
    cmd = [sys.executable, "-m", "fockmpi", "submit", job, "-n", str(ranks), "-o", path, "--force",
           "--job-name", f"{os.path.splitext(os.path.basename(job))[0]}_r{ranks}", *shlex.split(options or "")]
    done = subprocess.run(cmd, env=dict(ENV, PYTHONPATH=ROOT), capture_output=True, text=True)
    if done.returncode:
        sys.stderr.write(done.stderr)
        sys.exit(done.returncode)
    return done.stdout.split()[-1]


def run_point(job, ranks, out, launcher, extra=()):
    path = os.path.join(out, f"ranks_{ranks:04d}.h5")
    cmd = shlex.split(launcher) + ["-n", str(ranks), sys.executable, "-m", "fockmpi", "run", job, "-o", path,
                                   "--force", "-q", *extra]
    t0 = time.perf_counter()
    subprocess.run(cmd, env=dict(ENV, PYTHONPATH=ROOT), check=True)
    return path, time.perf_counter() - t0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("job")
    ap.add_argument("--ranks", type=int, nargs="+", required=True)
    ap.add_argument("--out", help="directory of the study (default scaling/results/strong_<job>)")
    ap.add_argument("--launcher", default="mpirun", help="the command that starts ranks (takes -n R)")
    ap.add_argument("--no-triad", action="store_true", help="skip the bandwidth measurement")
    ap.add_argument("--cores", type=int, help="cores the ranks share (default: this machine's; the triad is "
                                               "measured with min(R, cores) ranks)")
    ap.add_argument("--force", action="store_true", help="replace the results of an earlier study in --out")
    add_submit_options(ap)
    args = ap.parse_args(argv)
    name = os.path.splitext(os.path.basename(args.job))[0]
    out = args.out or os.path.join(HERE, "results", f"strong_{name}")
    prepare_out(out, args.force)
    study = {"kind": "strong", "title": f"{name}, ranks {' '.join(map(str, args.ranks))}", "job": args.job,
             "ranks": args.ranks, "launcher": args.launcher}
    if args.submit:
        study["jobs"] = {str(r): submit_point(args.job, r, out, args.submit_options) for r in args.ranks}
        return submitted(out, study)
    if not args.no_triad:
        study["triad_GBps"] = triads(args.launcher, args.ranks, args.cores)
    for ranks in args.ranks:
        path, wall = run_point(args.job, ranks, out, args.launcher)
        study.setdefault("wall_s", {})[str(ranks)] = wall
        print(f"{ranks:>5} ranks: {wall:.1f} s -> {path}", flush=True)
    finish(out, study)


def add_submit_options(ap):
    ap.add_argument("--submit", action="store_true",
                    help="submit every point as a Slurm job through `fockmpi submit` instead of running it; "
                         "`fockmpi scaling report DIR` once they have ended")
    ap.add_argument("--submit-options", metavar="'OPTIONS'",
                    help="options passed on to every `fockmpi submit`, e.g. '--time 30 --partition short'")


def submitted(out, study):
    """``out/study.json`` of a submitted study (the job ids; no triad: it is the nodes' to measure)."""
    with open(os.path.join(out, "study.json"), "w") as f:
        json.dump(study, f, indent=1)
    jobs = " ".join(study["jobs"].values())
    print(f"submitted {len(study['jobs'])} point(s): jobs {jobs}; when they have ended: "
          f"fockmpi scaling report {out}")


def finish(out, study):
    """``out/study.json`` and the report of the study in ``out``."""
    with open(os.path.join(out, "study.json"), "w") as f:
        json.dump(study, f, indent=1)
    subprocess.run([sys.executable, "-m", "fockmpi", "scaling", "report", out], env=dict(ENV, PYTHONPATH=ROOT),
                   check=True)


if __name__ == "__main__":
    main()
