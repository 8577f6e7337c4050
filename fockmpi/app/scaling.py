"""``fockmpi scaling report DIR``: the table and plots of a scaling study, from the results files
the points of the study wrote into DIR (``scaling/strong.py``, one job at several rank counts;
``scaling/weak.py``, jobs growing with the ranks).  Not collective (rank 0 / serial).

Per point (one results file): ranks, dimension, the slowest rank's time of every phase, the
solve split into its products (PETSc's MatMult log, slowest rank) and the rest
(orthogonalization and the solver's own work), products, peak memory per rank (max), what one
product moves between ranks (bytes, values, messages) and the spread of states and non-zeros
(max / mean).  Against the point with the fewest ranks: speed-up and parallel efficiency of the
solve and of the whole run (for a weak study: scaled by the work per rank).  ``DIR/study.json`` (written by the drivers) may add the study's
kind and the triad bandwidth measured in the same run; each point's bandwidth share of its
products is then in the table too.
"""
import glob
import json
import os

import numpy as np

from ..errors import InputError

COLUMNS = ("ranks", "dimension", "phases_s", "basis_s", "assembly_s", "solve_s", "output_s", "products",
           "matmult_s", "other_solve_s", "peak_MiB_per_rank", "bytes_per_product", "ghost_values", "messages",
           "imbalance_states", "imbalance_nnz", "speedup_solve", "efficiency_solve", "speedup_total",
           "efficiency_total")


def study_rows(directory, kind="strong"):
    """The rows of the study in ``directory`` (one per complete results file), fewest ranks first.

    Strong (one problem): speed-up T_1 / T_R against the fewest ranks, efficiency speed-up x
    R_1 / R.  Weak (the problem grows with R): efficiency T_1 / T_R times the ratio of states per
    rank (R's over the first point's: a point with more work per rank is not penalized),
    speed-up efficiency x R / R_1 (the scaled speed-up)."""
    from ..io.results import read_results
    paths = sorted(glob.glob(os.path.join(directory, "*.h5")))
    if not paths:
        raise InputError(f"{directory}: no results files (*.h5) of a scaling study")
    rows = []
    for path in paths:
        r = read_results(path)
        t = {k: v["max"] for k, v in r["timings"].items()}
        par = r.get("parallel") or {}
        matmult = float(np.max(par["matmult_seconds"])) if "matmult_seconds" in par else float("nan")
        row = {"file": os.path.basename(path), "ranks": int(r["provenance"]["ranks"]),
               "dimension": int(r["sector"]["dimension"]),
               "phases_s": sum(v for k, v in t.items()),
               **{f"{p}_s": t.get(p, 0.0) for p in ("basis", "assembly", "solve", "output")},
               "products": int(r["solver"].get("matvecs", -1)), "matmult_s": matmult,
               "matmult_count": int(np.max(par["matmult_count"])) if "matmult_count" in par else -1,
               "other_solve_s": t.get("solve", 0.0) - matmult if matmult == matmult else float("nan"),
               "peak_MiB_per_rank": max(r["memory"]["peak_rss_bytes"]) / 2 ** 20,
               "bytes_per_product": int(par.get("bytes_per_product", -1)),
               "ghost_values": int(np.sum(par["ghost_values"])) if "ghost_values" in par else -1,
               "messages": int(np.sum(par["ghost_messages"])) if "ghost_messages" in par else -1,
               "imbalance_states": float(par.get("imbalance_states", float("nan"))),
               "imbalance_nnz": float(par.get("imbalance_nnz", float("nan"))),
               "nnz": int(r["solver"].get("nnz", -1))}
        rows.append(row)
    rows.sort(key=lambda row: (row["ranks"], row["dimension"]))
    base = rows[0]
    for row in rows:
        for what, key in (("solve", "solve_s"), ("total", "phases_s")):
            ratio = base[key] / row[key] if row[key] > 0 else float("nan")
            if kind == "weak":
                work = (row["dimension"] / row["ranks"]) / (base["dimension"] / base["ranks"])
                row[f"efficiency_{what}"] = ratio * work
                row[f"speedup_{what}"] = ratio * work * row["ranks"] / base["ranks"]
            else:
                row[f"speedup_{what}"] = ratio
                row[f"efficiency_{what}"] = ratio * base["ranks"] / row["ranks"]
    return rows


def write_report(directory, out_prefix=None):
    """``report.csv``, ``report.md`` and the PNG plots of the study in ``directory``; returns the
    paths written."""
    study = {}
    if os.path.exists(os.path.join(directory, "study.json")):
        with open(os.path.join(directory, "study.json")) as f:
            study = json.load(f)
    rows = study_rows(directory, study.get("kind", "strong"))
    triad = study.get("triad_GBps")
    columns = list(COLUMNS) + (["triad_GBps", "matmult_share_of_triad"] if triad else [])
    for row in rows:
        if triad:  # bytes a product streams (12 per non-zero, three vectors) over its time, against the triad
            bw = triad_at(triad, row["ranks"])
            per = row["matmult_s"] / max(row["matmult_count"], 1)  # (PETSc's count: every product)
            streamed = 12.0 * row["nnz"] + 24.0 * row["dimension"]
            row["triad_GBps"] = bw
            row["matmult_share_of_triad"] = streamed / per / (bw * 1e9) if per > 0 else float("nan")
    prefix = out_prefix or os.path.join(directory, "report")
    with open(prefix + ".csv", "w") as f:
        f.write(",".join(columns) + "\n")
        for row in rows:
            f.write(",".join(_fmt(row[c]) for c in columns) + "\n")
    with open(prefix + ".md", "w") as f:
        title = study.get("title", os.path.basename(os.path.abspath(directory)))
        f.write(f"# Scaling study: {title}\n\n")
        if study.get("kind"):
            f.write(f"{study['kind']} scaling" + ("; triad bandwidth measured in the same run at each rank count "
                                                  "(column triad_GBps)" if triad else "") + "\n\n")
        f.write("| " + " | ".join(columns) + " |\n|" + "---|" * len(columns) + "\n")
        for row in rows:
            f.write("| " + " | ".join(_fmt(row[c]) for c in columns) + " |\n")
        f.write(bound_by(rows, study.get("kind", "strong"), triad))
    written = [prefix + ".csv", prefix + ".md"] + _plots(rows, prefix)
    return written


PHASES = (("basis_s", "basis"), ("assembly_s", "assembly"), ("matmult_s", "solve: products"),
          ("other_solve_s", "solve: the rest (orthogonalization)"), ("output_s", "output"))


def bound_by(rows, kind, triad):
    """Markdown: which phases are bound by the memory bandwidth and which by the cores, from
    one rank to two (each on its own core) in a strong study: a phase bound by the bandwidth
    speeds up by the triad's ratio at best, one bound by the cores by 2.  Empty when the study
    lacks those points or the triad."""
    one = next((r for r in rows if r["ranks"] == 1), None)
    two = next((r for r in rows if r["ranks"] == 2), None)
    if kind != "strong" or not triad or one is None or two is None:
        return ""
    ratio = triad_at(triad, 2) / triad_at(triad, 1)
    distinct = ratio < 1.6  # (else the two limits are too close to tell the phases apart)
    out = ["", "## 1 -> 2 ranks: bound by the bandwidth or by the cores", "",
           f"The triad of two ranks is {ratio:.2f}x that of one: a phase bound by the memory bandwidth "
           f"speeds up by at most {ratio:.2f}x, one bound by the cores by up to 2x."
           + ("" if distinct else " These limits are too close here to tell the two kinds apart by their "
              "speed-up; the products' share of the triad (table above) says how near the bandwidth they run."), "",
           "| phase | 1 rank (s) | 2 ranks (s) | speed-up | of the bandwidth limit | of the cores' limit |"
           + (" nearer |" if distinct else ""), "|---|---|---|---|---|---|" + ("---|" if distinct else "")]
    for key, label in PHASES:
        a, b = one[key], two[key]
        if not (a == a and b == b) or a < 0.05:  # (NaN, or too short to say)
            continue
        speedup = a / b if b > 0 else float("nan")
        line = f"| {label} | {a:.3g} | {b:.3g} | {speedup:.2f} | {speedup / ratio:.2f} | {speedup / 2:.2f} |"
        if distinct:  # (far below both: neither limit is what holds the phase back)
            line += (" neither: serial work or communication |" if speedup < 0.85 * ratio else
                     " cores |" if abs(speedup - 2) < abs(speedup - ratio) else " bandwidth |")
        out.append(line)
    return "\n".join(out) + "\n"


def triad_at(triad, ranks):
    """The triad bandwidth (GB/s) of a point: ``triad`` is one number (older studies) or
    ``{"R": GB/s}`` per rank count."""
    if not isinstance(triad, dict):
        return float(triad)
    measured = sorted((int(k), float(v)) for k, v in triad.items())
    below = [v for k, v in measured if k <= ranks]
    return below[-1] if below else measured[0][1]


def _fmt(v):
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if v != v:
        return ""
    return f"{v:.4g}"


def _plots(rows, prefix):
    """Five panels in one PNG: time per phase, speed-up, efficiency, memory per rank, traffic per
    product and imbalance, against ranks (log axes where the values span decades)."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return []
    ranks = np.array([r["ranks"] for r in rows], dtype=float)
    fig, axes = plt.subplots(2, 3, figsize=(14, 8))
    ax = axes[0, 0]
    for key, label in (("basis_s", "basis"), ("assembly_s", "assembly"), ("matmult_s", "solve: products"),
                       ("other_solve_s", "solve: the rest"), ("output_s", "output"), ("phases_s", "all phases")):
        y = np.array([r[key] for r in rows], dtype=float)
        if np.all(np.isfinite(y)) and np.any(y > 0):
            ax.loglog(ranks, np.maximum(y, 1e-4), "o-", label=label)
    ax.set_xlabel("ranks")
    ax.set_ylabel("seconds (slowest rank)")
    ax.set_title("time per phase")
    ax.legend(fontsize=7)
    ax = axes[0, 1]
    ax.loglog(ranks, ranks / ranks[0], "k--", label="ideal")
    for what in ("solve", "total"):
        ax.loglog(ranks, [r[f"speedup_{what}"] for r in rows], "o-", label=what)
    ax.set_xlabel("ranks")
    ax.set_ylabel(f"speed-up against {int(ranks[0])} rank(s)")
    ax.set_title("speed-up")
    ax.legend(fontsize=7)
    ax = axes[0, 2]
    ax.axhline(1.0, color="k", ls="--", lw=0.8)
    for what in ("solve", "total"):
        ax.semilogx(ranks, [r[f"efficiency_{what}"] for r in rows], "o-", label=what)
    ax.set_ylim(0, 1.2)
    ax.set_xlabel("ranks")
    ax.set_ylabel("parallel efficiency")
    ax.set_title("efficiency")
    ax.legend(fontsize=7)
    ax = axes[1, 0]
    ax.semilogx(ranks, [r["peak_MiB_per_rank"] for r in rows], "o-")
    ax.set_xlabel("ranks")
    ax.set_ylabel("MiB (max over ranks)")
    ax.set_title("peak memory per rank")
    ax = axes[1, 1]
    moved = np.array([r["bytes_per_product"] for r in rows], dtype=float) / 2 ** 20
    ax.semilogx(ranks, moved, "o-", label="MiB per product")
    ax.set_xlabel("ranks")
    ax.set_ylabel("MiB moved per product (all ranks)")
    ax2 = ax.twinx()
    ax2.semilogx(ranks, [r["messages"] for r in rows], "s--", color="C1", label="messages")
    ax2.set_ylabel("messages per product", color="C1")
    ax.set_title("communication per product")
    ax = axes[1, 2]
    ax.semilogx(ranks, [r["imbalance_states"] for r in rows], "o-", label="states")
    ax.semilogx(ranks, [r["imbalance_nnz"] for r in rows], "s-", label="non-zeros")
    ax.axhline(1.0, color="k", ls="--", lw=0.8)
    ax.set_xlabel("ranks")
    ax.set_ylabel("max / mean over ranks")
    ax.set_title("load imbalance")
    ax.legend(fontsize=7)
    for ax in list(axes.ravel()) + [ax2]:  # the rank counts themselves on the x axes
        ax.set_xticks(ranks)
        ax.set_xticklabels([str(int(r)) for r in ranks])
        ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
    fig.tight_layout()
    out = prefix + ".png"
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return [out]
