#!/usr/bin/env python3
"""Core benchmark: time per phase and peak memory per rank on 1 and 2 ranks.

Cases (issue #2): Heisenberg ring Sz=0 for L = 20, 24, 26 and the Hubbard ring L = 12 at half
filling, ground state only.  Each case runs through the real command line under mpirun, after a
warm-up run so numba's on-disk JIT cache is warm.  Prints a markdown table, writes JSON next to
this script (scaling/results/), and the MatMult bandwidth from PETSc's own MatMult timer
(bytes moved = 12 per non-zero + 3 vectors of 8 bytes per row, for real scalars with 32-bit
indices).

    python scaling/bench_core.py [--ranks 1 2] [--cases heis20 heis24 heis26 hub12] [--tol 1e-8]
                                 [--extra 'complete_multiplets = false'] [--tag NAME]

The solve includes the multiplet check (a deflated solve that proves no degenerate copy of the
ground level was missed) unless --extra 'complete_multiplets = false'; its share is reported
separately (check_s) and drawn as its own part of the bar.
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
sys.path.insert(0, os.path.dirname(HERE))

CASES = {
    "heis20": ("Heisenberg ring L=20, Sz=0", 'type="chain"\nsize=[20]', 'type="heisenberg"', "Sz = 0"),
    "heis24": ("Heisenberg ring L=24, Sz=0", 'type="chain"\nsize=[24]', 'type="heisenberg"', "Sz = 0"),
    "heis26": ("Heisenberg ring L=26, Sz=0", 'type="chain"\nsize=[26]', 'type="heisenberg"', "Sz = 0"),
    "hub12": ("Hubbard ring L=12, U=4, half filling", 'type="chain"\nsize=[12]', 'type="hubbard"\nU=4.0',
              "N_up = 6\nN_dn = 6"),
}
ENV = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
           OMPI_MCA_rmaps_base_oversubscribe="1")


def job_text(case, tol, extra):
    _, lattice, model, sector = CASES[case]
    return (f"[lattice]\n{lattice}\n[model]\n{model}\n[sector]\n{sector}\n"
            f"[solver]\nnev = 1\ntol = {tol}\n{extra}\n[output]\neigenvectors = false\n")


def run_cli(job, out, ranks, what):
    """``mpirun -n RANKS fockmpi run JOB -o OUT`` timed from outside: (wall seconds, the results
    file read back).  Exits naming ``what`` when the run fails.  (Shared by the benchmarks.)"""
    from fockmpi.io.results import read_results
    fockmpi = [sys.executable, "-m", "fockmpi", "run", job, "-o", out, "--force", "-q"]
    t0 = time.perf_counter()
    r = subprocess.run(["mpirun", "-n", str(ranks)] + fockmpi, env=ENV, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    if r.returncode:
        raise SystemExit(f"{what} on {ranks} ranks failed:\n{r.stdout}\n{r.stderr}")
    return wall, read_results(out)


def matmult_gbps(res):
    """Effective bandwidth of the stored products of a results file: 12 bytes per stored entry
    (storage "upper": (nnz + dim) / 2 of them) and three vector entries per row, over PETSc's
    MatMult time; NaN for the matrix-free operator or without the timer."""
    s = res["solver"]
    dim, nnz = int(res["sector"]["dimension"]), int(s["nnz"])
    storage = str(s.get("storage", "aij"))
    stored = nnz if storage == "aij" else (nnz + dim) / 2
    mm = float(s.get("matmult_seconds", 0.0))
    if mm <= 0 or storage not in ("aij", "upper"):
        return float("nan")
    return int(s["matvecs"]) * (12.0 * stored + 24.0 * dim) / mm / 1e9


def run(case, ranks, tol, extra, workdir):
    job = os.path.join(workdir, f"{case}.toml")
    with open(job, "w") as f:
        f.write(job_text(case, tol, extra))
    wall, res = run_cli(job, os.path.join(workdir, f"{case}_{ranks}.h5"), ranks, case)
    t = res["timings"]
    dim = int(res["sector"]["dimension"])
    s = res["solver"]
    nnz = int(s["nnz"])
    bw = matmult_gbps(res)
    return {"case": case, "ranks": ranks, "dimension": dim, "nnz": nnz, "E0": float(res["eigenvalues"][0]),
            "wall_s": wall, **{f"{k}_s": v["max"] for k, v in t.items()},
            "check_s": float(s.get("check_seconds", 0.0)),
            "matvecs": int(s["matvecs"]), "iterations": int(s["iterations"]), "matmult_GBps": bw,
            "peak_rss_MiB": max(res["memory"]["peak_rss_bytes"]) / 2 ** 20}


def plot(rows, path, tol):
    """Stacked bars of the phases per case and rank count (needs matplotlib)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    phases = ["basis_s", "assembly_s", "solve_s", "check_s", "output_s"]
    rows = [dict(r, solve_s=r["solve_s"] - r.get("check_s", 0.0)) for r in rows]  # solve without check
    labels = [f"{r['case']}\n{r['ranks']} rank{'s' if r['ranks'] > 1 else ''}" for r in rows]
    fig, ax = plt.subplots(figsize=(1.2 * len(rows) + 2, 4.5))
    bottom = [0.0] * len(rows)
    names = {"solve_s": "solve", "check_s": "multiplet check", "other_s": "start-up and model"}
    for phase, color in zip(phases + ["other_s"],
                            ["#4c72b0", "#dd8452", "#55a868", "#8fd19e", "#c44e52", "#999999"]):
        if phase == "other_s":
            vals = [r["wall_s"] - sum(r.get(p, 0.0) for p in phases) for r in rows]
        else:
            vals = [r.get(phase, 0.0) for r in rows]
        ax.bar(labels, vals, bottom=bottom, color=color, label=names.get(phase, phase[:-2]))
        bottom = [b + v for b, v in zip(bottom, vals)]
    for x, r in enumerate(rows):
        ax.text(x, bottom[x], f"{r['wall_s']:.1f} s\n{r['peak_rss_MiB']:.0f} MiB", ha="center", va="bottom",
                fontsize=8)
    ax.set_ylabel("wall time [s]")
    ax.set_title(f"fockmpi core benchmark: time per phase (ground state, tol {tol:g})")
    ax.legend(loc="upper left", fontsize=8)
    ax.set_ylim(0, max(bottom) * 1.2)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ranks", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--cases", nargs="+", default=list(CASES), choices=list(CASES))
    ap.add_argument("--tol", type=float, default=1e-8)
    ap.add_argument("--tag", default="", help="suffix of the JSON and PNG names (e.g. nocheck)")
    ap.add_argument("--extra", default="", help="extra [solver] lines, e.g. 'ncv = 12'")
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as d:
        for ranks in args.ranks:
            run("heis20", ranks, args.tol, args.extra, d)  # warm the JIT cache
            for case in args.cases:
                row = run(case, ranks, args.tol, args.extra, d)
                rows.append(row)
                print(f"{case} ranks={ranks}: wall {row['wall_s']:.1f} s", file=sys.stderr, flush=True)
    cols = ["case", "ranks", "dimension", "wall_s", "basis_s", "assembly_s", "solve_s", "check_s", "output_s",
            "matvecs", "matmult_GBps", "peak_rss_MiB", "E0"]
    print("| " + " | ".join(cols) + " |")
    print("|" + "---|" * len(cols))
    for r in rows:
        print("| " + " | ".join(f"{r[c]:.3f}" if isinstance(r[c], float) and c != "E0" else
                                f"{r[c]:.10f}" if c == "E0" else str(r[c]) for c in cols) + " |")
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    path = os.path.join(HERE, "results", f"core_{platform.node()}{'_' + args.tag if args.tag else ''}.json")
    with open(path, "w") as f:
        json.dump({"tol": args.tol, "extra": args.extra, "rows": rows}, f, indent=1)
    print(f"\nwritten {path}", file=sys.stderr)
    try:
        png = os.path.join(os.path.dirname(HERE), "docs", f"benchmarks_core{'_' + args.tag if args.tag else ''}.png")
        plot(rows, png, args.tol)
        print(f"written {png}", file=sys.stderr)
    except ImportError:
        print("matplotlib not installed: no plot (pip install matplotlib)", file=sys.stderr)


if __name__ == "__main__":
    main()
