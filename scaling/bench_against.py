#!/usr/bin/env python3
"""Every benchmark of docs/benchmarks*.md for two commits side by side, in one run.

    python scaling/bench_against.py OLD [NEW] [--runs 3] [--core-cases heis20 heis24 hub12]
        [--core-ranks 1 2] [--symmetry-cases heis24 heis28 hub14] [--symmetry-ranks 2]

Both commits are checked out as temporary git worktrees (NEW defaults to HEAD) and each runs its
own scaling/bench_core.py and scaling/bench_symmetry.py (fockmpi only) through the command
line, alternating which goes first, ``--runs`` times.  Printed: the median of every phase per
case and the ratio NEW/OLD with each side's spread (max/min over the runs, the noise of this
machine), as a markdown table; JSON next to this script (scaling/results/against_*.json).
A ratio above the spread of both sides is a slowdown.  Differing eigenvalues or matvec counts
(the solve is then not the same work) are reported on stderr.
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PHASES = ("wall_s", "basis_s", "assembly_s", "solve_s")
ENV = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
           OMPI_MCA_rmaps_base_oversubscribe="1")


def worktree(rev, where):
    subprocess.run(["git", "-C", ROOT, "worktree", "add", "--detach", where, rev], check=True,
                   capture_output=True, text=True)
    return where


def bench(tree, script, args):
    """Run one benchmark script of ``tree`` on its own code; its JSON rows."""
    env = dict(ENV, PYTHONPATH=tree)
    r = subprocess.run([sys.executable, os.path.join("scaling", script)] + args, cwd=tree, env=env,
                       capture_output=True, text=True, check=False)
    if r.returncode:
        raise SystemExit(f"{script} in {tree} failed:\n{r.stderr[-3000:]}")
    name = "core_" + platform.node() + "_against.json" if script == "bench_core.py" else \
        "symmetry_" + platform.node() + ".json"
    with open(os.path.join(tree, "scaling", "results", name)) as f:
        return json.load(f)["rows"]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("old")
    ap.add_argument("new", nargs="?", default="HEAD")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--core-cases", nargs="*", default=["heis20", "heis24", "hub12"])
    ap.add_argument("--core-ranks", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--symmetry-cases", nargs="*", default=["heis24", "heis28", "hub14"])
    ap.add_argument("--symmetry-ranks", type=int, default=2)
    args = ap.parse_args()
    results = {"old": {}, "new": {}}  # side -> (bench, case, ranks) -> phase -> [values]
    with tempfile.TemporaryDirectory() as tmp:
        trees = {"old": worktree(args.old, os.path.join(tmp, "old")),
                 "new": worktree(args.new, os.path.join(tmp, "new"))}
        try:
            for run in range(args.runs):
                for side in (("old", "new") if run % 2 == 0 else ("new", "old")):
                    jobs = []
                    if args.core_cases:
                        jobs.append(("core", "bench_core.py", ["--cases", *args.core_cases, "--ranks",
                                                               *map(str, args.core_ranks), "--tag", "against"]))
                    if args.symmetry_cases:
                        jobs.append(("symmetry", "bench_symmetry.py", ["--cases", *args.symmetry_cases, "--ranks",
                                                                       str(args.symmetry_ranks), "--quspin-cases"]))
                    for label, script, extra in jobs:
                        for row in bench(trees[side], script, extra):
                            ranks = row.get("ranks", args.symmetry_ranks)
                            key = (label, row["case"], ranks)
                            for p in PHASES + ("E0", "matvecs"):
                                if p in row:  # (bench_symmetry reports no matvecs)
                                    results[side].setdefault(key, {}).setdefault(p, []).append(float(row[p]))
                    print(f"run {run + 1}/{args.runs}: {side} ({args.old if side == 'old' else args.new}) done",
                          file=sys.stderr, flush=True)
        finally:
            for where in trees.values():
                subprocess.run(["git", "-C", ROOT, "worktree", "remove", "--force", where], check=False,
                               capture_output=True)
    print(f"| benchmark | case | ranks | phase | {args.new} median s | {args.old} median s | ratio | "
          f"spread {args.new} | spread {args.old} |")
    print("|---|---|---|---|---|---|---|---|---|")
    table = []
    for key in sorted(results["new"]):
        new, old = results["new"][key], results["old"].get(key)
        if old is None:
            continue
        if abs(statistics.median(new["E0"]) - statistics.median(old["E0"])) > 1e-8 * max(1, abs(old["E0"][0])):
            print(f"E0 differs for {key}: {new['E0']} against {old['E0']}", file=sys.stderr)
        if "matvecs" in new and "matvecs" in old and sorted(new["matvecs"]) != sorted(old["matvecs"]):
            print(f"matvecs differ for {key}: {new['matvecs']} against {old['matvecs']} (the solve times "
                  "are then not comparable one to one)", file=sys.stderr)
        for p in PHASES:
            mn, mo = statistics.median(new[p]), statistics.median(old[p])
            ratio = mn / mo if mo > 0 else float("nan")
            sn, so = max(new[p]) / max(min(new[p]), 1e-9), max(old[p]) / max(min(old[p]), 1e-9)
            table.append({"bench": key[0], "case": key[1], "ranks": key[2], "phase": p, "new": new[p],
                          "old": old[p], "ratio": ratio})
            print(f"| {key[0]} | {key[1]} | {key[2]} | {p[:-2]} | {mn:.3f} | {mo:.3f} | {ratio:.2f} | "
                  f"{sn:.2f} | {so:.2f} |")
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    path = os.path.join(HERE, "results", f"against_{args.old}_{platform.node()}.json")
    with open(path, "w") as f:
        json.dump({"old": args.old, "new": args.new, "runs": args.runs, "rows": table}, f, indent=1)
    print(f"\nwritten {path}", file=sys.stderr)


if __name__ == "__main__":
    main()
