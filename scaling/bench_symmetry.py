#!/usr/bin/env python3
"""Symmetry-sector benchmark, fockmpi (mpirun -n 2) side by side with QuSpin (same machine, same run).

Cases (issue #3), ground state only, tol 1e-8:
  heis24 ... heis32        Heisenberg ring, Sz = 0, k = 0, reflection +1, spin flip +1
  hub14                    Hubbard ring L = 14, U = 4, half filling, k = 0
  hub4x4                   4x4 Hubbard, U = 4, half filling, Gamma (translations only)

QuSpin runs in its own virtual environment (it needs a newer numpy than Debian's PETSc
bindings): `make bench-symmetry` creates .venv-quspin; without it QuSpin is skipped.
fockmpi is timed with its default multiplet check (it proves no degenerate copy of the ground
level was missed; QuSpin's eigsh does not) and the check's share is listed.

    python scaling/bench_symmetry.py [--cases heis24 heis28 hub14] [--ranks 2] [--quspin PYTHON]
"""
import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)

CASES = {
    "heis24": ('type="chain"\nsize=[24]', 'type="heisenberg"', "Sz=0\nmomentum=0\nreflection=1\nspin_flip=1"),
    "heis28": ('type="chain"\nsize=[28]', 'type="heisenberg"', "Sz=0\nmomentum=0\nreflection=1\nspin_flip=1"),
    "heis30": ('type="chain"\nsize=[30]', 'type="heisenberg"', "Sz=0\nmomentum=0\nreflection=1\nspin_flip=1"),
    "heis32": ('type="chain"\nsize=[32]', 'type="heisenberg"', "Sz=0\nmomentum=0\nreflection=1\nspin_flip=1"),
    "hub14": ('type="chain"\nsize=[14]', 'type="hubbard"\nU=4.0', "N_up=7\nN_dn=7\nmomentum=0"),
    "hub4x4": ('type="square"\nsize=[4,4]', 'type="hubbard"\nU=4.0', "N_up=8\nN_dn=8\nmomentum=[0,0]"),
}


def run_fockmpi(case, ranks, workdir):
    from bench_core import run_cli
    lattice, model, sector = CASES[case]
    job = os.path.join(workdir, f"{case}.toml")
    with open(job, "w") as f:
        f.write(f"[lattice]\n{lattice}\n[model]\n{model}\n[sector]\n{sector}\n"
                "[solver]\nnev = 1\ntol = 1e-8\n[output]\neigenvectors = false\n")
    wall, res = run_cli(job, os.path.join(workdir, f"{case}.h5"), ranks, f"fockmpi {case}")
    t = {k: v["max"] for k, v in res["timings"].items()}
    from fockmpi.basis.ranking import RankingTables
    from fockmpi.jobfile.table import load_job
    from fockmpi.app.pipeline import build_problem
    u1 = RankingTables(build_problem(load_job(job)).sector).dim
    dim = int(res["sector"]["dimension"])
    return {"case": case, "code": f"fockmpi ({ranks} ranks)", "dimension": dim, "E0": float(res["eigenvalues"][0]),
            "wall_s": wall, "basis_s": t["basis"], "assembly_s": t["assembly"], "solve_s": t["solve"],
            "check_s": float(res["solver"].get("check_seconds", 0.0)),
            "peak_rss_MiB_total": float(sum(res["memory"]["peak_rss_bytes"])) / 2 ** 20,
            "u1_states_per_s_per_rank": u1 / t["basis"] / ranks,
            "representatives_per_s_per_rank": dim / t["basis"] / ranks}


def run_quspin(case, python, threads):
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    t0 = time.perf_counter()
    r = subprocess.run([python, os.path.join(HERE, "quspin_case.py"), case], env=env, capture_output=True, text=True,
                       check=False)
    wall = time.perf_counter() - t0
    if r.returncode:
        return {"case": case, "code": "QuSpin", "error": r.stderr[-500:]}
    d = json.loads(r.stdout.strip().splitlines()[-1])
    return {"case": case, "code": f"QuSpin ({threads} threads)", "dimension": d["dimension"], "E0": d["E0"],
            "wall_s": wall, "basis_s": d["basis_s"], "assembly_s": d["assembly_s"], "solve_s": d["solve_s"],
            "check_s": 0.0, "peak_rss_MiB_total": d["peak_rss_MiB"]}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cases", nargs="+", default=["heis24", "heis28", "hub14"], choices=list(CASES))
    ap.add_argument("--ranks", type=int, default=2)
    ap.add_argument("--quspin", default=os.path.join(ROOT, ".venv-quspin", "bin", "python"),
                    help="python of an environment with QuSpin ('' to skip)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--quspin-cases", nargs="*", default=["heis24", "heis28", "heis30", "hub14"],
                    help="cases also run with QuSpin (it needs ~10 min at L=32 and longer for 4x4)")
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as d:
        run_fockmpi("heis24", args.ranks, d)  # warm numba's on-disk cache
        for case in args.cases:
            rows.append(run_fockmpi(case, args.ranks, d))
            print(f"{case} fockmpi: {rows[-1]['wall_s']:.1f} s", file=sys.stderr, flush=True)
            if args.quspin and os.path.exists(args.quspin) and case in args.quspin_cases:
                rows.append(run_quspin(case, args.quspin, args.threads))
                print(f"{case} QuSpin: {rows[-1].get('wall_s', float('nan')):.1f} s", file=sys.stderr, flush=True)
    cols = ["case", "code", "dimension", "wall_s", "basis_s", "assembly_s", "solve_s", "check_s",
            "peak_rss_MiB_total", "E0"]
    print("| " + " | ".join(cols) + " |")
    print("|" + "---|" * len(cols))
    for r in rows:
        if "error" in r:
            print(f"| {r['case']} | {r['code']} | failed: {r['error'][:80]} |")
            continue
        print("| " + " | ".join(f"{r[c]:.10f}" if c == "E0" else f"{r[c]:.2f}" if isinstance(r[c], float)
                                else str(r[c]) for c in cols) + " |")
    print("\nbasis build throughput per rank (fockmpi):")
    for r in rows:
        if "u1_states_per_s_per_rank" in r:
            print(f"  {r['case']}: {r['u1_states_per_s_per_rank'] / 1e6:.1f} M U(1) states/s scanned, "
                  f"{r['representatives_per_s_per_rank'] / 1e6:.2f} M representatives/s")
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    path = os.path.join(HERE, "results", f"symmetry_{platform.node()}.json")
    old = []
    if os.path.exists(path):  # keep the rows of cases not run this time
        with open(path) as f:
            old = [r for r in json.load(f)["rows"] if (r["case"], r["code"]) not in
                   {(x["case"], x["code"]) for x in rows}]
    with open(path, "w") as f:
        json.dump({"rows": old + rows}, f, indent=1)
    print(f"\nwritten {path}", file=sys.stderr)


if __name__ == "__main__":
    main()
