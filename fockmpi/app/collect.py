"""``fockmpi collect DIR``: the results files of a directory (a sweep's points) as one table.
Not collective (serial h5py).

Columns: ``point`` and the swept parameters (from each file's ``/sweep``), ``sector``,
``dimension``, ``E0 .. E{levels-1}`` (the lowest levels; NaN where a point has fewer),
``residual_max``, ``restarts``, ``file``.  Written as ``collected.csv``, ``collected.h5`` (one
dataset per column, ``complete`` set last) and ``collected.png`` (the levels against the first
swept parameter, one colour per value of the others; with matplotlib), each under a temporary
name and then renamed.  Only complete results files are read (:func:`fockmpi.io.results.read_results`);
incomplete ones, temporaries and checkpoints of unfinished points are listed and left out, and
the points a sweep should have but that have no results are named.
"""
import csv
import glob
import json
import math
import os

import numpy as np

from ..errors import InputError, OutputExistsError


def gather(directory, levels=4):
    """``(columns, rows, notes)`` of the results files in ``directory``: ``columns`` the names,
    ``rows`` one list per point (sorted by point, then file name), ``notes`` what was left
    out and why (sentences)."""
    from ..io.results import read_results
    if not os.path.isdir(directory):
        raise InputError(f"{directory}: no such directory (give the directory of a sweep's results, e.g. results/NAME)")
    files = sorted(glob.glob(os.path.join(glob.escape(directory), "*.h5")))
    notes, found = [], []
    checkpoints = [f for f in files if f.endswith(".checkpoint.h5")]
    if checkpoints:
        notes.append(f"{len(checkpoints)} checkpoint(s) of unfinished points (go on with fockmpi run --resume): "
                     + ", ".join(os.path.basename(f) for f in checkpoints))
    for path in files:
        if path in checkpoints or os.path.basename(path).startswith("collected"):
            continue
        try:
            found.append((path, read_results(path)))
        except InputError as e:
            notes.append(f"left out: {e}")
    temporaries = glob.glob(os.path.join(glob.escape(directory), "*.tmp"))
    if temporaries:
        notes.append(f"{len(temporaries)} temporary file(s) of runs in progress or killed: "
                     + ", ".join(os.path.basename(f) for f in sorted(temporaries)))
    if not found:
        raise InputError(f"{directory}: no complete results file" + (f" ({'; '.join(notes)})" if notes else ""))
    names = []
    for _, r in found:
        for name in (r.get("sweep") or {}).get("parameters", {}):
            if name not in names:
                names.append(name)
    columns = (["point"] if names else []) + names + ["sector", "dimension"] + [f"E{k}" for k in range(levels)] \
        + ["residual_max", "restarts", "file"]
    rows = []
    totals = set()
    for path, r in found:
        sweep = r.get("sweep") or {}
        values = sweep.get("parameters", {})
        energies = list(np.asarray(r["eigenvalues"], dtype=float)[:levels])
        energies += [math.nan] * (levels - len(energies))
        row = ([sweep.get("index", -1)] if names else []) + [values.get(n, "") for n in names] \
            + [r["sector"].get("label", ""), int(r["sector"].get("dimension", 0))] + energies \
            + [float(np.max(r["residuals"])) if len(r["residuals"]) else math.nan,
               int(r["solver"].get("restarts", 0)), os.path.basename(path)]
        rows.append(row)
        if sweep:
            totals.add(sweep["points"])
    if names:
        rows.sort(key=lambda row: (row[0], row[-1]))
        if len(totals) == 1:
            total = totals.pop()
            have = {row[0] for row in rows}
            missing = [k for k in range(total) if k not in have]
            if missing:
                shown = ", ".join(map(str, missing[:20])) + (" ..." if len(missing) > 20 else "")
                notes.append(f"{len(missing)} of {total} points have no results yet: {shown}")
        elif len(totals) > 1:
            notes.append(f"the files come from sweeps of different sizes ({sorted(totals)} points)")
    return columns, rows, notes


def collect(directory, levels=4, output=None, force=False, quiet=False):
    """Write the table of :func:`gather` as CSV, HDF5 and PNG; return their paths."""
    columns, rows, notes = gather(directory, levels)
    stem = output or os.path.join(directory, "collected")
    targets = [stem + ext for ext in (".csv", ".h5", ".png")]
    existing = [t for t in targets if os.path.exists(t)]
    if existing and not force:
        raise OutputExistsError(f"{existing[0]} exists already; pass --force to replace the table or -o for another name")
    os.makedirs(os.path.dirname(os.path.abspath(stem)), exist_ok=True)
    written = [_write_csv(stem + ".csv", columns, rows), _write_h5(stem + ".h5", columns, rows, directory)]
    plot = _plot(stem + ".png", columns, rows, levels)
    if plot:
        written.append(plot)
    if not quiet:
        _print_table(columns, rows, levels)
        for note in notes:
            print(f"note: {note}")
        print(f"{len(rows)} result(s) collected: " + ", ".join(written), flush=True)
    return written


def _atomic(path, write):
    tmp = f"{path}.{os.getpid()}.tmp"
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path


def _write_csv(path, columns, rows):
    def write(tmp):
        with open(tmp, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(columns)
            for row in rows:
                w.writerow([f"{v:.15g}" if isinstance(v, float) else v for v in row])
    return _atomic(path, write)


def _write_h5(path, columns, rows, directory):
    from ..runtime import import_h5py
    h5py = import_h5py()

    def write(tmp):
        with h5py.File(tmp, "w") as f:
            f.attrs["complete"] = False
            f.attrs["format"] = "fockmpi-collected-1"
            f.attrs["source"] = os.path.abspath(directory)
            f.attrs["columns"] = json.dumps(columns)
            for k, name in enumerate(columns):
                values = [row[k] for row in rows]
                if all(isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool) for v in values):
                    f.create_dataset(name, data=np.asarray(values, dtype=float if any(
                        isinstance(v, (float, np.floating)) for v in values) else np.int64))
                else:
                    f.create_dataset(name, data=[json.dumps(v) if not isinstance(v, str) else v for v in values],
                                     dtype=h5py.string_dtype())
            f.attrs["complete"] = True
    return _atomic(path, write)


def _plot(path, columns, rows, levels):
    """The lowest levels against the first swept parameter (numeric), one colour per value of
    the other swept parameters.  None without matplotlib or without a numeric swept parameter."""
    if "point" not in columns:
        return None
    names = columns[1:columns.index("sector")]
    numeric = [n for n in names if all(isinstance(row[columns.index(n)], (int, float)) and
                                       not isinstance(row[columns.index(n)], bool) for row in rows)]
    if not numeric:
        return None
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    x_name = numeric[0]
    others = [n for n in names if n != x_name]
    groups = {}
    for row in rows:
        key = tuple(row[columns.index(n)] for n in others)
        groups.setdefault(key, []).append(row)
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for g, (key, members) in enumerate(sorted(groups.items(), key=lambda kv: str(kv[0]))):
        members.sort(key=lambda row: row[columns.index(x_name)])
        x = [row[columns.index(x_name)] for row in members]
        label = ", ".join(f"{n} = {v}" for n, v in zip(others, key))
        for k in range(levels):
            y = [row[columns.index(f"E{k}")] for row in members]
            ax.plot(x, y, "o-" if k == 0 else ".--", color=f"C{g % 10}", lw=1.6 if k == 0 else 0.9,
                    ms=5 if k == 0 else 4, label=(label or None) if k == 0 else None)
    ax.set_xlabel(x_name)
    ax.set_ylabel("energy")
    ax.set_title(f"lowest {levels} levels (E0 solid) against {x_name}")
    if others:
        ax.legend(fontsize=7, loc="best")
    ax.grid(alpha=0.3)
    fig.tight_layout()

    def write(tmp):
        fig.savefig(tmp, dpi=110, format="png")
    out = _atomic(path, write)
    plt.close(fig)
    return out


def _print_table(columns, rows, levels):
    shown = [c for c in columns if c not in ("file", "residual_max")]
    print("  ".join(f"{c:>14}" for c in shown))
    for row in rows[:50]:
        cells = []
        for c in shown:
            v = row[columns.index(c)]
            cells.append(f"{v:>14.8f}" if isinstance(v, float) and c.startswith("E") else f"{str(v):>14}")
        print("  ".join(cells))
    if len(rows) > 50:
        print(f"... ({len(rows) - 50} more rows in the files)")
