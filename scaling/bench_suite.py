#!/usr/bin/env python3
"""The benchmark suite of docs/benchmarks.md: fockmpi and its peers in one run, one table.

In one run, on this machine, for each case: fockmpi through its command line (mpirun -n RANKS,
ground state, tol 1e-8, warm JIT cache), QuSpin where the case is defined for it
(scaling/quspin_case.py, in .venv-quspin, THREADS OpenMP threads), and the STREAM-like triad
bandwidth of RANKS processes at once (the physical limit of a stored product).  Per case: wall
time, the phases, peak memory per rank (and QuSpin's), the node's memory at the peaks (node_MiB:
the peak sum with the pages mapped from files, the libraries every rank maps, counted once as
the node holds them), products and iterations, the stored
product's effective bandwidth (12 bytes per stored entry, 8 per upper-triangle entry plus 4 of
index, and three vector entries per row) as a share of the triad, and E0.  ARPACK's product
count on fockmpi's own matrix is `scaling/bench_solver.py` (one rank), run with --arpack.

    python scaling/bench_suite.py [--cases ring24 hub14 ...] [--ranks 2] [--runs 3] [--json F]

Cases (the issue's targets): ring24 = Heisenberg ring L = 24, Sz = 0 (U(1)); hub14 = Hubbard ring
L = 14, U = 4, half filling, k = 0; heis28 = Heisenberg ring L = 28 in k = 0, P = +1, Z = +1;
hub4x4 = 4x4 Hubbard U = 4, 8 + 8, Gamma (k only; QuSpin did not finish its build in 810 s here);
square6x6 = jobs/heisenberg_square6x6_gamma.toml; ring36 = jobs/heisenberg_ring36_kzp.toml;
tiny = a 4-site ring (start-up).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)

SPIN_KZP = 'Sz = 0\nmomentum = 0\nreflection = 1\nspin_flip = 1'
CASES = {  # name: (lattice, model, sector, extra [solver] lines, QuSpin's name or None)
    "tiny": ('type = "chain"\nsize = [4]', 'type = "heisenberg"', "Sz = 0", "", None),
    "ring24": ('type = "chain"\nsize = [24]', 'type = "heisenberg"', "Sz = 0", "", "heis24u1"),
    "hub14": ('type = "chain"\nsize = [14]', 'type = "hubbard"\nU = 4.0', "N_up = 7\nN_dn = 7\nmomentum = 0", "",
              "hub14"),
    "heis28": ('type = "chain"\nsize = [28]', 'type = "heisenberg"', SPIN_KZP, "", "heis28"),
    "hub4x4": ('type = "square"\nsize = [4, 4]', 'type = "hubbard"\nU = 4.0', "N_up = 8\nN_dn = 8\nmomentum = [0, 0]",
               "", None),
    "square6x6": ("jobs/heisenberg_square6x6_gamma.toml", None, None, "", None),
    "ring36": ("jobs/heisenberg_ring36_kzp.toml", None, None, "", None),
}
TRIAD = """
import sys; sys.path.insert(0, {here!r})
from mpi4py import MPI
from bench_shell import triad_bandwidth
bw = triad_bandwidth(MPI.COMM_WORLD)
if MPI.COMM_WORLD.rank == 0: print(bw)
"""


def job_file(case, workdir):
    lattice, model, sector, extra, _ = CASES[case]
    if model is None:  # a job of the repository, run as it is
        return os.path.join(ROOT, lattice)
    path = os.path.join(workdir, f"{case}.toml")
    with open(path, "w") as f:
        f.write(f"[lattice]\n{lattice}\n[model]\n{model}\n[sector]\n{sector}\n"
                f"[solver]\nnev = 1\ntol = 1e-8\n{extra}\n[output]\neigenvectors = false\n")
    return path


def triad(ranks):
    from bench_core import ENV
    r = subprocess.run(["mpirun", "-n", str(ranks), sys.executable, "-c", TRIAD.format(here=HERE)], env=ENV,
                       capture_output=True, text=True, check=True)
    return float(r.stdout.split()[-1])


def run_fockmpi(case, ranks, workdir):
    from bench_core import matmult_gbps, run_cli
    out = os.path.join(workdir, f"{case}.h5")
    wall, res = run_cli(job_file(case, workdir), out, ranks, f"fockmpi {case}")
    os.remove(out)
    s = res["solver"]
    return {"case": case, "code": f"fockmpi ({ranks} ranks)", "dimension": int(res["sector"]["dimension"]),
            "nnz": int(s["nnz"]), "storage": str(s.get("storage", "aij")),
            "wall_s": wall, **{f"{k}_s": v["max"] for k, v in res["timings"].items()},
            "matvecs": int(s["matvecs"]), "iterations": int(s["iterations"]), "matmult_GBps": matmult_gbps(res),
            "peak_MiB_per_rank": max(res["memory"]["peak_rss_bytes"]) / 2 ** 20,
            "peak_MiB_total": sum(res["memory"]["peak_rss_bytes"]) / 2 ** 20,
            "node_MiB": node_bytes(res["memory"]) / 2 ** 20,
            "E0": float(res["eigenvalues"][0])}


def node_bytes(memory):
    """The node's memory at the ranks' peaks: the sum of their peaks with the pages mapped from
    files (the same libraries in every rank, resident once on a node) counted once.  (The peak
    sum counts them once per rank; QuSpin, one process, counts them once.)"""
    peaks = memory["peak_rss_bytes"]
    files = memory.get("file_backed_bytes", [0] * len(peaks))
    return sum(peaks) - sum(files) + max(files)


def run_quspin(case, python, threads):
    name = CASES[case][4]
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    t0 = time.perf_counter()
    r = subprocess.run([python, os.path.join(HERE, "quspin_case.py"), name], env=env, capture_output=True,
                       text=True, check=False)
    wall = time.perf_counter() - t0
    if r.returncode:
        return {"case": case, "code": "QuSpin", "error": r.stderr[-300:]}
    d = json.loads(r.stdout.strip().splitlines()[-1])
    return {"case": case, "code": f"QuSpin ({threads} threads)", "dimension": d["dimension"], "wall_s": wall,
            "basis_s": d["basis_s"], "assembly_s": d["assembly_s"], "solve_s": d["solve_s"],
            "peak_MiB_per_rank": d["peak_rss_MiB"], "peak_MiB_total": d["peak_rss_MiB"],
            "node_MiB": d["peak_rss_MiB"], "E0": d["E0"]}


def median_row(rows):
    """The run with the median wall time, with the spread of the wall times."""
    rows = sorted(rows, key=lambda r: r["wall_s"])
    mid = dict(rows[len(rows) // 2])
    mid["wall_min_s"], mid["wall_max_s"] = rows[0]["wall_s"], rows[-1]["wall_s"]
    mid["runs"] = len(rows)
    return mid


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", nargs="+", default=["tiny", "ring24", "hub14", "heis28"], choices=list(CASES))
    ap.add_argument("--ranks", type=int, default=2)
    ap.add_argument("--runs", type=int, default=3, help="runs of each code and case (the median is kept)")
    ap.add_argument("--quspin", default=os.path.join(ROOT, ".venv-quspin", "bin", "python"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", default=os.path.join(HERE, "results", "suite.json"))
    a = ap.parse_args()
    rows = []
    bandwidth = [triad(a.ranks)]
    with tempfile.TemporaryDirectory() as d:
        run_fockmpi("tiny", a.ranks, d)  # numba's on-disk cache warm
        for case in a.cases:
            runs = {"fockmpi": [], "quspin": []}
            for _ in range(a.runs):  # alternating the codes, so both see the same drift
                runs["fockmpi"].append(run_fockmpi(case, a.ranks, d))
                if CASES[case][4] and a.quspin and os.path.exists(a.quspin):
                    q = run_quspin(case, a.quspin, a.threads)
                    if "error" in q:
                        print(f"QuSpin {case}: {q['error']}", file=sys.stderr)
                    else:
                        runs["quspin"].append(q)
            bandwidth.append(triad(a.ranks))
            for code, got in runs.items():
                if got:
                    rows.append(median_row(got))
                    print(f"{case} {rows[-1]['code']}: {rows[-1]['wall_s']:.2f} s", file=sys.stderr, flush=True)
    bw = statistics.median(bandwidth)
    for r in rows:
        if r.get("matmult_GBps") == r.get("matmult_GBps") and "matmult_GBps" in r:
            r["triad_share"] = r["matmult_GBps"] * 1e9 / bw
        peer = [q for q in rows if q["case"] == r["case"] and q["code"].startswith("QuSpin")]
        if peer and r["code"].startswith("fockmpi"):
            r["time_vs_quspin"] = r["wall_s"] / peer[0]["wall_s"]
            r["memory_vs_quspin"] = r["peak_MiB_total"] / peer[0]["peak_MiB_total"]
            r["node_memory_vs_quspin"] = r["node_MiB"] / peer[0]["node_MiB"]
    cols = [("case", "{}"), ("code", "{}"), ("dimension", "{}"), ("wall_s", "{:.2f}"), ("basis_s", "{:.2f}"),
            ("assembly_s", "{:.2f}"), ("solve_s", "{:.2f}"), ("matvecs", "{}"), ("iterations", "{}"),
            ("matmult_GBps", "{:.1f}"), ("triad_share", "{:.0%}"), ("peak_MiB_per_rank", "{:.0f}"),
            ("peak_MiB_total", "{:.0f}"), ("node_MiB", "{:.0f}"), ("time_vs_quspin", "{:.2f}"),
            ("memory_vs_quspin", "{:.2f}"), ("node_memory_vs_quspin", "{:.2f}"),
            ("E0", "{:.10f}")]
    print(f"triad bandwidth, {a.ranks} processes at once: median {bw / 1e9:.1f} GB/s "
          f"({', '.join(f'{b / 1e9:.1f}' for b in bandwidth)}); medians of {a.runs} runs\n")
    print("| " + " | ".join(c for c, _ in cols) + " |")
    print("|" + "---|" * len(cols))
    for r in rows:
        print("| " + " | ".join(f.format(r[c]) if c in r and r[c] == r[c] else "" for c, f in cols) + " |")
    os.makedirs(os.path.dirname(a.json), exist_ok=True)
    with open(a.json, "w") as f:
        json.dump({"triad_bytes_per_s": bandwidth, "ranks": a.ranks, "rows": rows}, f, indent=1)
    print(f"\nwritten {a.json}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
