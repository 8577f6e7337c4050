"""A model of one product (MatMult) and of the memory per rank, fitted to a strong-scaling study of
this machine and extrapolated to a cluster: 64-4096 ranks (and the process counts of XDiag's
published runs) for a 40-site Heisenberg ring and a 20-site Hubbard ring, both in U(1) sectors.

    python scaling/model.py scaling/results/strong_heisenberg_ring26_u1 --out scaling/results/model

1. **Traffic from the basis and H, sampled.**  For a U(1) sector cut evenly over P ranks, a few
   ranks (first, last, spread between) are sampled: runs of consecutive states of their block go
   through fockmpi's row kernel (``kernels.build_rows``), which gives each row's length and the
   columns outside the block.  The distinct ghost values of a rank are estimated without bias by
   weighting every off-block entry with 1/k, k being the number of the block's rows that reach
   the same column (the column's own row, counted inside the block).  Messages: the distinct
   owners of the sampled ghosts (a lower bound; they cost microseconds each).  The estimate is
   checked against the counts the study recorded (``/parallel``, on its own cuts).
2. **Costs fitted to the study.**  Time of a product on R ranks of this machine
   (R <= cores: each rank on its core; above, the ranks share the cores)::

       t(R) = bytes(R) / (eta * triad(R)) + c_ghost * ghosts(R) / m + c_msg * messages(R) / m

   with bytes = 12 per stored entry + 16 per row + 8 per ghost, summed over the ranks sharing
   m = min(R, cores) cores; eta (the product's share of the triad), c_ghost (packing and copying
   one ghost value through shared memory) and c_msg (one message) by least squares.
3. **A cluster**, stated assumptions (``--node-*``, ``--net-*``): the product's local part streams
   at eta x the node's triad shared by its ranks; ghosts cost c_ghost plus 8 bytes over the
   node's injection bandwidth shared by its ranks (all ghosts off-node: an upper bound for the
   off-node share, about (P - ranks per node) / P); messages cost the network latency.  The
   slowest sampled rank sets the time.  Memory per rank: fockmpi plan's parts (matrix, vectors,
   ghosts) for the cut.  A Krylov-Schur step adds the solver's own work: the vector passes per
   step measured on one rank here, at the rank's share of the node's triad, and its reductions.

Not collective; no MPI.  Writes OUT.json, OUT.md and OUT.png.
"""
import argparse
import json
import math
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

TARGETS = {
    "heisenberg_ring40": ("[lattice]\ntype = \"chain\"\nsize = [40]\n[model]\ntype = \"heisenberg\"\n"
                          "[sector]\nSz = 0\n", 40),
    "hubbard_ring20": ("[lattice]\ntype = \"chain\"\nsize = [20]\n[model]\ntype = \"hubbard\"\nt = 1.0\nU = 4.0\n"
                       "[sector]\nN_up = 10\nN_dn = 10\n", 20),
}
RANKS = [64, 128, 256, 512, 1024, 2048, 4096]
REDUCTIONS_PER_STEP = 12  # allreduces of one Krylov-Schur step (Gram-Schmidt with ncv = 12; assumed)
# XDiag's published distributed runs (U(1) only; Raven: Xeon Platinum 8360Y, 72 cores a node,
# HDR100), seconds per Lanczos step: https://github.com/awietek/xdiag docs/benchmarks.md
XDIAG = {"heisenberg_ring40": (18432, 7.9, 1.4e11), "hubbard_ring20": (2304, 7.7, 3.4e10)}


def load(text):
    """(problem, ranking tables, terms) of a job text."""
    import tomllib
    from fockmpi.app.pipeline import build_problem
    from fockmpi.basis.ranking import RankingTables
    from fockmpi.jobfile.table import parse_job
    problem = build_problem(parse_job(tomllib.loads(text), path="<model>", text=text))
    tables = RankingTables(problem.sector)
    return problem, tables, problem.compiled.terms(np.dtype(np.float64))


def sample_block(tables, terms, lo, hi, offsets, runs=64, run_length=32):
    """Estimates for the rank holding rows ``lo .. hi`` (the cut is ``offsets``): its stored
    entries, ghost values (distinct columns of other ranks) and messages (owners seen)."""
    from fockmpi import kernels
    rk = tables.args()
    n = hi - lo
    starts = np.unique(np.linspace(lo, max(lo, hi - run_length), min(runs, max(1, n // run_length))).astype(np.int64))
    entries = ghost_weight = 0.0
    rows = 0
    owners = set()
    none_i, none_v = np.zeros(0, dtype=np.int64), np.zeros(0)
    for a in starts:
        m = int(min(run_length, hi - a))
        st = tables.states(int(a), m)
        d_ptr, o_ptr = np.zeros(m + 1, dtype=np.int64), np.zeros(m + 1, dtype=np.int64)
        kernels.build_rows(st, np.int64(a), np.int64(lo), np.int64(hi), kernels.COUNT, True, terms, rk,
                           d_ptr, none_i, none_v, o_ptr, none_i, none_v)
        entries += float(d_ptr.sum() + o_ptr.sum())
        rows += m
        d_ptr, o_ptr = np.cumsum(d_ptr), np.cumsum(o_ptr)
        d_col, d_val = np.empty(d_ptr[-1], dtype=np.int64), np.empty(d_ptr[-1])
        o_col, o_val = np.empty(o_ptr[-1], dtype=np.int64), np.empty(o_ptr[-1])
        kernels.build_rows(st, np.int64(a), np.int64(lo), np.int64(hi), kernels.FILL, True, terms, rk,
                           d_ptr, d_col, d_val, o_ptr, o_col, o_val)
        if not len(o_col):
            continue
        owners.update(np.unique(np.searchsorted(offsets, o_col, side="right") - 1).tolist())
        # k: how many of this block's rows reach each ghost column (its row's entries in the block)
        cs = tables.states_at(o_col)
        k_ptr, k_o = np.zeros(len(cs) + 1, dtype=np.int64), np.zeros(len(cs) + 1, dtype=np.int64)
        kernels.build_rows(cs, np.int64(-1 - len(cs)), np.int64(lo), np.int64(hi), kernels.COUNT, True, terms, rk,
                           k_ptr, none_i, none_v, k_o, none_i, none_v)
        ghost_weight += float(np.sum(1.0 / np.maximum(k_ptr[1:], 1)))
    scale = n / max(rows, 1)
    return {"rows": n, "nnz": entries * scale, "ghosts": ghost_weight * scale, "messages": len(owners)}


def sample_cut(tables, terms, offsets, ranks_sampled=8):
    """Per sampled rank of the cut ``offsets``: :func:`sample_block`; returns the list."""
    P = len(offsets) - 1
    picks = sorted(set(np.linspace(0, P - 1, min(P, ranks_sampled)).astype(int).tolist()))
    return [dict(rank=p, **sample_block(tables, terms, int(offsets[p]), int(offsets[p + 1]), offsets)) for p in picks]


def calibration(study, tables, terms):
    """The study's points: measured per-product time and traffic against the sampled estimate on
    the study's own cuts."""
    from fockmpi.io.results import read_results
    points = []
    triad = json.load(open(os.path.join(study, "study.json")))["triad_GBps"]
    from fockmpi.app.scaling import triad_at
    for name in sorted(os.listdir(study)):
        if not name.endswith(".h5"):
            continue
        r = read_results(os.path.join(study, name))
        p = r["parallel"]
        states, nnz = np.asarray(p["states"]), np.asarray(p["nnz"])
        ghosts, msgs = np.asarray(p["ghost_values"]), np.asarray(p["ghost_messages"])
        matmult = float(np.max(p["matmult_seconds"]))
        per_product = matmult / float(np.max(p["matmult_count"]))
        # the solver's own work per step (orthogonalization, restarts): solve time less the products
        rest_per_step = (r["timings"]["solve"]["max"] - matmult) / max(int(r["solver"]["matvecs"]), 1)
        R = len(states)
        offsets = np.concatenate([[0], np.cumsum(states)]).astype(np.int64)
        sampled = [sample_block(tables, terms, int(offsets[r]), int(offsets[r + 1]), offsets) for r in range(R)]
        points.append({"ranks": R, "per_product_s": per_product, "triad_GBps": triad_at(triad, R),
                       "rest_per_step_s": rest_per_step,
                       "rows": states.tolist(), "nnz": nnz.tolist(), "ghosts": ghosts.tolist(), "messages": msgs.tolist(),
                       "sampled_nnz": [s["nnz"] for s in sampled], "sampled_ghosts": [s["ghosts"] for s in sampled],
                       "sampled_messages": [s["messages"] for s in sampled]})
    return sorted(points, key=lambda q: q["ranks"])


def fit(points, cores):
    """eta, c_ghost (s), c_msg (s) of the module docstring, by least squares on log-free residuals
    relative to each time (every point weighs the same)."""
    A, b = [], []
    for q in points:
        R, m = q["ranks"], min(q["ranks"], cores)
        streamed = 12.0 * sum(q["nnz"]) + 16.0 * sum(q["rows"]) + 8.0 * sum(q["ghosts"])
        # per rank on its own core: the slowest rank's bytes; shared cores: all ranks' bytes
        by = streamed if R > cores else max(12.0 * z + 16.0 * r + 8.0 * g for z, r, g in
                                            zip(q["nnz"], q["rows"], q["ghosts"])) * m
        A.append([by / (q["triad_GBps"] * 1e9), sum(q["ghosts"]) / m, sum(q["messages"]) / m])
        b.append(q["per_product_s"])
    A, b = np.array(A), np.array(b)
    w = 1.0 / b
    coef, *_ = np.linalg.lstsq(A * w[:, None], b * w, rcond=None)
    coef = np.maximum(coef, 0.0)
    inv_eta, c_ghost, c_msg = coef
    model = A @ coef
    # the solver's work between products, as full passes over a vector at the triad (1 rank)
    one = points[0]
    passes = one["rest_per_step_s"] * one["triad_GBps"] * 1e9 / (8.0 * sum(one["rows"]))
    return {"eta": 1.0 / inv_eta if inv_eta > 0 else float("inf"), "c_ghost_s": c_ghost, "c_msg_s": c_msg,
            "vector_passes_per_step": passes, "fitted_s": model.tolist(), "measured_s": b.tolist()}


def generated_entry_seconds(study):
    """Seconds per generated entry of the matrix-free product on one rank of ``study``."""
    from fockmpi.io.results import read_results
    r = read_results(os.path.join(study, "ranks_0001.h5"))
    p = r["parallel"]
    per_product = float(np.max(p["matmult_seconds"])) / float(np.max(p["matmult_count"]))
    return per_product / float(np.sum(p["nnz"]))


def predict(name, cal, args):
    """Per P: the slowest sampled rank's time per product and memory per rank on the cluster."""
    from fockmpi.parallel import block_offsets
    text, _ = TARGETS[name]
    problem, tables, terms = load(text)
    dim = tables.dim
    ranks = sorted(set(RANKS + [XDIAG[name][0]]))
    rows = []
    for P in ranks:
        t0 = time.perf_counter()
        offsets = block_offsets(dim, P)
        sampled = sample_cut(tables, terms, offsets)
        per_node = min(P, args.node_cores)
        bw_rank = cal["eta"] * args.node_triad_GBps * 1e9 / per_node
        net_rank = args.net_GBps * 1e9 / per_node
        worst = None
        for s in sampled:
            local = (12.0 * s["nnz"] + 16.0 * s["rows"] + 8.0 * s["ghosts"]) / bw_rank
            ghost = s["ghosts"] * (cal["c_ghost_s"] + (8.0 / net_rank if P > per_node else 0.0))
            msg = s["messages"] * (cal["c_msg_s"] + args.net_latency_us * 1e-6)
            t = {"local_s": local, "ghost_s": ghost, "message_s": msg, "total_s": local + ghost + msg, **s}
            # matrix-free: the rows generated again in every product (compute-bound: per core as here)
            t["shell_s"] = s["nnz"] * cal["c_generated_s"] + ghost + msg
            # the rest of a Krylov-Schur step: vector passes at the rank's share of the triad, and
            # its reductions (REDUCTIONS_PER_STEP allreduces of log2 P latencies)
            t["rest_s"] = (cal["vector_passes_per_step"] * 8.0 * s["rows"] / (args.node_triad_GBps * 1e9 / per_node)
                           + REDUCTIONS_PER_STEP * math.log2(max(P, 2)) * args.net_latency_us * 1e-6)
            worst = t if worst is None or t["total_s"] > worst["total_s"] else worst
        n = worst["rows"]
        mem = {"matrix": 12.0 * worst["nnz"] + 8.0 * n,
               "vectors (Krylov-Schur, ncv 12)": (12 + 8 + 2) * 8.0 * n,
               "vectors (Lanczos, 3)": 3 * 8.0 * n,
               "ghosts": 2 * 8.0 * worst["ghosts"], "basis": 8.0 * n, "runtime": 250e6}
        rows.append({"ranks": P, "nodes": math.ceil(P / args.node_cores), "dimension": dim,
                     "rows_per_rank": n, "nnz_per_row": worst["nnz"] / n, "ghosts_per_rank": worst["ghosts"],
                     "ghost_share": worst["ghosts"] / n, "messages": worst["messages"],
                     "local_s": worst["local_s"], "ghost_s": worst["ghost_s"], "message_s": worst["message_s"],
                     "product_s": worst["total_s"], "rest_s": worst["rest_s"],
                     "step_s": worst["total_s"] + worst["rest_s"], "shell_step_s": worst["shell_s"] + worst["rest_s"],
                     "memory_aij_GiB": (mem["matrix"] + mem["vectors (Krylov-Schur, ncv 12)"] + mem["ghosts"]
                                        + mem["basis"] + mem["runtime"]) / 2 ** 30,
                     "memory_shell_GiB": (mem["vectors (Krylov-Schur, ncv 12)"] + mem["ghosts"] + mem["basis"]
                                          + mem["runtime"]) / 2 ** 30,
                     "memory_lanczos3_shell_GiB": (mem["vectors (Lanczos, 3)"] + mem["ghosts"] + mem["basis"]
                                                   + mem["runtime"]) / 2 ** 30,
                     "sampling_s": time.perf_counter() - t0})
        print(f"{name} P = {P}: {rows[-1]['product_s']:.3g} s per product, ghosts {rows[-1]['ghost_share']:.2f} "
              f"per row, {rows[-1]['memory_aij_GiB']:.3g} GiB per rank stored", flush=True)
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("study", help="a strong study of a U(1) Heisenberg ring (scaling/strong.py)")
    ap.add_argument("--job", help="its job file (default: the study's study.json)")
    ap.add_argument("--shell-study", default=os.path.join(HERE, "results", "strong_heisenberg_ring24_u1_shell"),
                    help="a strong study with storage = \"shell\": its one-rank product gives the matrix-free cost "
                         "of a generated entry (compute-bound)")
    ap.add_argument("--memory-per-rank-GiB", type=float, default=3.5, help="memory a rank may use (Raven: 256 GB "
                                                                                "/ 72 cores)")
    ap.add_argument("--out", default=os.path.join(HERE, "results", "model"))
    ap.add_argument("--cores", type=int, default=os.cpu_count(), help="cores of the machine the study ran on")
    ap.add_argument("--node-cores", type=int, default=72, help="ranks per cluster node (Raven: 72)")
    ap.add_argument("--node-triad-GBps", type=float, default=300.0, help="STREAM triad of a node (2 x 8 DDR4-3200 "
                                                                            "channels: ~300)")
    ap.add_argument("--net-GBps", type=float, default=12.5, help="injection bandwidth of a node (HDR100: 12.5)")
    ap.add_argument("--net-latency-us", type=float, default=2.0, help="MPI latency of one message")
    args = ap.parse_args(argv)
    study = json.load(open(os.path.join(args.study, "study.json")))
    with open(args.job or study["job"]) as f:
        _, tables, terms = load(f.read())
    points = calibration(args.study, tables, terms)
    cal = fit(points, args.cores)
    cal["c_generated_s"] = generated_entry_seconds(args.shell_study)
    print(f"fit: eta {cal['eta']:.3f}, c_ghost {cal['c_ghost_s'] * 1e9:.2f} ns, c_msg {cal['c_msg_s'] * 1e6:.1f} us; "
          f"measured {np.round(cal['measured_s'], 4)} fitted {np.round(cal['fitted_s'], 4)}", flush=True)
    out = {"assumptions": {k: getattr(args, k) for k in ("cores", "node_cores", "node_triad_GBps", "net_GBps",
                                                          "net_latency_us", "memory_per_rank_GiB")},
           "calibration": {"study": os.path.relpath(args.study, os.path.dirname(HERE)), "points": points, "fit": cal},
           "predictions": {name: predict(name, cal, args) for name in TARGETS},
           "xdiag": {k: {"processes": v[0], "seconds_per_step": v[1], "dimension": v[2]} for k, v in XDIAG.items()}}
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    with open(args.out + ".json", "w") as f:
        json.dump(out, f, indent=1)
    write_markdown(out, args.out + ".md")
    plot(out, args.out + ".png")
    print(f"wrote {args.out}.json, .md, .png")


def write_markdown(out, path):
    limit = out["assumptions"]["memory_per_rank_GiB"]

    def fits(gib):  # (bold: fits in the memory a rank has)
        return f"**{gib:.3g}**" if gib <= limit else f"{gib:.3g}"

    cal = out["calibration"]
    fit_ = cal["fit"]
    a = out["assumptions"]
    lines = ["# Model of one product, fitted here and extrapolated to a cluster", "",
             f"Calibration: `{cal['study']}`. Fit: eta = {fit_['eta']:.3f} (the product's share of the triad), "
             f"c_ghost = {fit_['c_ghost_s'] * 1e9:.2f} ns per ghost value, c_msg = {fit_['c_msg_s'] * 1e6:.1f} us per "
             f"message; the solver's own work {fit_['vector_passes_per_step']:.1f} vector passes per step; the "
             f"matrix-free product {fit_['c_generated_s'] * 1e9:.1f} ns per generated entry (one rank of "
             "the shell study).", "",
             "| ranks | measured s/product | fitted | ghosts recorded (max rank) | sampled | messages recorded (max) | "
             "sampled | nnz recorded (max) | sampled |", "|---|---|---|---|---|---|---|---|---|"]
    for q, m, f in zip(cal["points"], fit_["measured_s"], fit_["fitted_s"]):
        lines.append(f"| {q['ranks']} | {m:.4f} | {f:.4f} | {max(q['ghosts'])} | {max(q['sampled_ghosts']):.0f} | "
                     f"{max(q['messages'])} | {max(q['sampled_messages'])} | {max(q['nnz'])} | "
                     f"{max(q['sampled_nnz']):.0f} |")
    lines += ["", f"Cluster assumed: {a['node_cores']} ranks a node, node triad {a['node_triad_GBps']} GB/s, "
              f"injection {a['net_GBps']} GB/s a node, latency {a['net_latency_us']} us; a rank may use "
              f"{limit} GiB (bold: fits).", ""]
    for name, rows in out["predictions"].items():
        x = out["xdiag"][name]
        lines += [f"## {name}: {rows[0]['dimension']:.3g} states", "",
                  "| ranks | nodes | rows/rank | ghosts/row | messages | local s | ghosts s | messages s | "
                  "s/product | s/step (+ orthogonalization) | s/step matrix-free | GiB/rank aij | GiB/rank shell | "
                  "GiB/rank shell + 3-vector Lanczos |",
                  "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for r in rows:
            lines.append(f"| {r['ranks']} | {r['nodes']} | {r['rows_per_rank']:.3g} | {r['ghost_share']:.2f} | "
                         f"{r['messages']} | {r['local_s']:.3g} | {r['ghost_s']:.3g} | {r['message_s']:.3g} | "
                         f"{r['product_s']:.3g} | {r['step_s']:.3g} | {r['shell_step_s']:.3g} | "
                         f"{fits(r['memory_aij_GiB'])} | {fits(r['memory_shell_GiB'])} | "
                         f"{fits(r['memory_lanczos3_shell_GiB'])} |")
        lines += ["", f"XDiag (published): {x['dimension']:.2g} states on {x['processes']} processes, "
                  f"{x['seconds_per_step']} s per Lanczos step.", ""]
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def plot(out, path):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.8))
    cal = out["calibration"]
    ax = axes[0]
    R = [q["ranks"] for q in cal["points"]]
    ax.loglog(R, cal["fit"]["measured_s"], "o", label="measured (this machine)")
    ax.loglog(R, cal["fit"]["fitted_s"], "-", label="model")
    ax.set_xlabel("ranks (above 2: sharing 2 cores)")
    ax.set_ylabel("seconds per product (slowest rank)")
    ax.set_title(f"calibration: {os.path.basename(cal['study'])}")
    ax.legend(fontsize=8)
    for ax, key, label in ((axes[1], "step_s", "seconds per Krylov step (model)"),
                           (axes[2], "memory_aij_GiB", "GiB per rank")):
        for name, rows in out["predictions"].items():
            P = [r["ranks"] for r in rows]
            line, = ax.loglog(P, [r[key] for r in rows], "o-", label=name + (" (stored)" if key.startswith("mem") else ""))
            if key == "step_s":
                x = out["xdiag"][name]
                ax.loglog([x["processes"]], [x["seconds_per_step"]], "*", ms=14, color=line.get_color(),
                          label=f"XDiag {name} (Lanczos step, published)")
                ax.loglog(P, [r["shell_step_s"] for r in rows], "--", color=line.get_color(),
                          label=f"{name}: matrix-free")
            else:
                ax.loglog(P, [r["memory_shell_GiB"] for r in rows], "--", color=line.get_color(),
                          label=name + " (matrix-free)")
        ax.set_xlabel("ranks (72 a node)")
        ax.set_ylabel(label)
        ax.legend(fontsize=7)
        ax.grid(True, which="both", alpha=0.3)
    axes[1].set_title("one step (product + orthogonalization), assumed cluster")
    limit = out["assumptions"]["memory_per_rank_GiB"]
    axes[2].axhline(limit, color="grey", lw=0.8)
    axes[2].text(70, limit * 1.08, f"{limit} GiB a rank", fontsize=7)
    axes[2].set_title("memory per rank (Krylov-Schur, ncv 12)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


if __name__ == "__main__":
    main()
