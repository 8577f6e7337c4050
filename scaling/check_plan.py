#!/usr/bin/env python3
"""The planner against measured memory: runs each case with `fockmpi run` and compares the peak
resident memory per rank (from the results file) with what `fockmpi plan` estimated for that
storage and rank count.  Exits 1 when an estimate is off by more than --tolerance (20%).

    python scaling/check_plan.py                 # the three documented cases
    python scaling/check_plan.py --cases small   # the quick ones (tests/test_plan.py)

Each case runs once after a tiny warm-up job (the first run after an update compiles the
kernels, which costs memory once; the planner plans warm runs).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
ENV = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
           OMPI_MCA_rmaps_base_oversubscribe="1")
for key in list(ENV):  # a parent that imported mpi4py must not pass its MPI singleton state on
    if key.startswith(("OMPI_COMM_WORLD", "PMIX_", "OMPI_MCA_ess", "OMPI_MCA_orte")):
        del ENV[key]

CASES = {  # name: (lattice, model, sector, storage, ranks)
    "heis24-aij-2": ('type = "chain"\nsize = [24]', 'type = "heisenberg"', "Sz = 0", "aij", 2),
    "heis24-shell-2": ('type = "chain"\nsize = [24]', 'type = "heisenberg"', "Sz = 0", "shell", 2),
    "hub4x4-k0-aij-1": ('type = "square"\nsize = [4, 4]', 'type = "hubbard"\nU = 4.0',
                        "N_up = 5\nN_dn = 5\nmomentum = [0, 0]", "aij", 1),
    # quick ones for the test suite
    "heis22-aij-1": ('type = "chain"\nsize = [22]', 'type = "heisenberg"', "Sz = 0", "aij", 1),
    "heis20-shell-2": ('type = "chain"\nsize = [20]', 'type = "heisenberg"', "Sz = 0", "shell", 2),
    "hub4x3-k0-aij-1": ('type = "square"\nsize = [4, 3]', 'type = "hubbard"\nU = 4.0',
                        "N_up = 5\nN_dn = 5\nmomentum = [0, 0]", "aij", 1),
}
SETS = {"documented": ["heis24-aij-2", "heis24-shell-2", "hub4x4-k0-aij-1"],
        "small": ["heis22-aij-1", "heis20-shell-2", "hub4x3-k0-aij-1"]}


def job_text(case, out):
    lattice, model, sector, storage, _ = CASES[case]
    return (f"[lattice]\n{lattice}\n[model]\n{model}\n[sector]\n{sector}\n[solver]\nstorage = \"{storage}\"\n"
            f"complete_multiplets = false\n[output]\npath = \"{out}\"\n")


def measure(case, workdir, python=sys.executable):
    """(estimated bytes per rank, measured peak bytes per rank (max over ranks))."""
    ranks = CASES[case][4]
    job = os.path.join(workdir, f"{case}.toml")
    out = os.path.join(workdir, f"{case}.h5")
    with open(job, "w") as f:
        f.write(job_text(case, out))
    cmd = [python, "-m", "fockmpi"]
    launch = ["mpirun", "-n", str(ranks)] if ranks > 1 else []
    subprocess.run(launch + cmd + ["run", job, "--force", "-q"], check=True, env=ENV, cwd=ROOT)
    code = ("import json, sys; from fockmpi.jobfile.table import load_job; from fockmpi.app.pipeline import describe_job; "
            "from fockmpi.io.results import read_results; "
            f"i = describe_job(load_job({job!r}), {ranks}); e = i['estimate']; "
            f"r = read_results({out!r}); "
            f"print(json.dumps([float(e.total({CASES[case][3]!r})), int(max(r['memory']['peak_rss_bytes'])), int(r['sector']['dimension'])]))")
    est, peak, dim = json.loads(subprocess.run([python, "-c", code], check=True, env=ENV, cwd=ROOT,
                                               capture_output=True, text=True).stdout.strip().splitlines()[-1])
    return est, peak, dim


def warm_up(workdir, python=sys.executable):
    """Tiny jobs of every kind, so the kernels are compiled and cached before measuring."""
    for storage, sector in (("aij", "Sz = 0"), ("shell", "Sz = 0"), ("aij", "Sz = 0\nmomentum = 0")):
        job = os.path.join(workdir, "warm.toml")
        with open(job, "w") as f:
            f.write(f"[lattice]\ntype = \"chain\"\nsize = [8]\n[model]\ntype = \"heisenberg\"\n[sector]\n{sector}\n"
                    f"[solver]\nstorage = \"{storage}\"\n[output]\npath = \"{workdir}/warm.h5\"\n")
        for launch in ([], ["mpirun", "-n", "2"]):
            subprocess.run(launch + [python, "-m", "fockmpi", "run", job, "--force", "-q"], check=True,
                           env=ENV, cwd=ROOT)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cases", default="documented", choices=list(SETS))
    p.add_argument("--tolerance", type=float, default=0.2)
    a = p.parse_args()
    bad = []
    with tempfile.TemporaryDirectory() as workdir:
        warm_up(workdir)
        print(f"{'case':<18}{'dimension':>11}{'estimate MiB':>14}{'measured MiB':>14}{'ratio':>8}")
        for case in SETS[a.cases]:
            est, peak, dim = measure(case, workdir)
            ratio = est / peak
            print(f"{case:<18}{dim:>11}{est / 2**20:>14.0f}{peak / 2**20:>14.0f}{ratio:>8.2f}", flush=True)
            if abs(ratio - 1) > a.tolerance:
                bad.append(case)
    if bad:
        print(f"estimates off by more than {100 * a.tolerance:.0f}%: {', '.join(bad)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
