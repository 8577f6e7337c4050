"""``[sweep]``: one job file, many points.  Not collective.

A parameter named alone is a key of ``[model]``; ``"section.key"`` (quoted, as TOML wants for
a dot) is a key of ``[lattice]``, ``[sector]`` or ``[solver]``.  Values are a list, or a range
``{start, stop, num}`` (``num`` evenly spaced values, both ends included) or
``{start, stop, step}`` (from start while not past stop).  ``mode = "product"`` (the default)
runs every combination, the first parameter slowest; ``mode = "zip"`` runs the lists side by
side (equal lengths)::

    [sweep]
    U = [1, 2, 4, 8]
    "sector.N_up" = [3, 4]
    mode = "product"              # 8 points: (1, 3), (1, 4), (2, 3), ...

Point ``k`` of a job whose results file is ``results/NAME.h5`` writes
``results/NAME/p0003.h5`` (k = 3), and its checkpoint next to it; the results file holds the
point's values (``/sweep``), so ``fockmpi collect results/NAME`` needs nothing else.
"""
import copy
import itertools
import json
import math
import numbers
import os
from dataclasses import dataclass

from ..errors import ConfigError

SWEPT_SECTIONS = ("lattice", "model", "sector", "solver")
MAX_POINTS = 100000


@dataclass
class SweepPoint:
    index: int
    values: dict  # parameter name as written in [sweep] -> value, in the order of [sweep]
    total: int

    def label(self):
        return ", ".join(f"{k} = {_text(v)}" for k, v in self.values.items())

    def record(self):
        """What the results file keeps of the point (``/sweep``)."""
        return {"index": self.index, "points": self.total, "parameters": json.dumps(self.values)}


def _text(v):
    return f"{v:.10g}" if isinstance(v, float) else str(v)


def sweep_points(job):
    """The points of ``job``'s ``[sweep]`` (a list of :class:`SweepPoint`), or None without one."""
    table = job.sections.get("sweep")
    if table is None:
        return None
    where = "[sweep]"
    mode = table.get("mode", "product")
    if mode not in ("product", "zip"):
        raise ConfigError(f"{where} mode", "\"product\" or \"zip\"", mode)
    names, lists = [], []
    for name, value in table.items():
        if name == "mode":
            continue
        _target(name)  # (a key that is not in its section is created there; that section's reader checks it)
        names.append(name)
        lists.append(_values(value, f"{where} {name}"))
    if not names:
        raise ConfigError(where, message=f"{where}: no parameter to sweep",
                          hint="e.g. U = [1, 2, 4] (a [model] key) or \"sector.N_up\" = [3, 4]")
    if mode == "zip":
        if len({len(v) for v in lists}) > 1:
            raise ConfigError(f"{where} mode", message=f"{where} mode = \"zip\" needs lists of one length, found "
                              + ", ".join(f"{n}: {len(v)}" for n, v in zip(names, lists)))
        combos = list(zip(*lists))
    else:
        count = math.prod(len(v) for v in lists)
        if count > MAX_POINTS:
            raise ConfigError(where, f"at most {MAX_POINTS} points", f"{count} combinations")
        combos = list(itertools.product(*lists))
    return [SweepPoint(k, dict(zip(names, combo)), len(combos)) for k, combo in enumerate(combos)]


def _target(name):
    """(section, key) of a swept parameter name."""
    if "." in name:
        section, key = name.split(".", 1)
        if section not in SWEPT_SECTIONS or not key or "." in key:
            raise ConfigError(f"[sweep] {name}", message=f"[sweep] {name}: a swept parameter is a [model] key "
                              f"(U) or \"section.key\" with section one of {', '.join(SWEPT_SECTIONS)}")
        return section, key
    return "model", name


def _values(value, key):
    if isinstance(value, list):
        if not value:
            raise ConfigError(key, "a non-empty list of values", value)
        return list(value)
    if isinstance(value, dict):
        unknown = set(value) - {"start", "stop", "num", "step"}
        if unknown:
            raise ConfigError(key, "a range {start, stop, num} or {start, stop, step}",
                              f"the key {sorted(unknown)[0]!r}")
        for part in ("start", "stop"):
            if not isinstance(value.get(part), numbers.Real) or isinstance(value.get(part), bool):
                raise ConfigError(f"{key}.{part}", "a number", value.get(part))
        start, stop = value["start"], value["stop"]
        if ("num" in value) == ("step" in value):
            raise ConfigError(key, "a range with either num (how many values) or step", value)
        if "num" in value:
            num = value["num"]
            if not isinstance(num, int) or isinstance(num, bool) or num < 1 or num > MAX_POINTS:
                raise ConfigError(f"{key}.num", f"an integer from 1 to {MAX_POINTS}", num)
            if num == 1:
                return [start]
            return [start + (stop - start) * k / (num - 1) for k in range(num)]
        step = value["step"]
        if not isinstance(step, numbers.Real) or isinstance(step, bool) or step == 0 or (stop - start) * step < 0:
            raise ConfigError(f"{key}.step", "a non-zero number that leads from start to stop", step)
        count = int(math.floor((stop - start) / step + 1e-9)) + 1
        if count > MAX_POINTS:
            raise ConfigError(key, f"at most {MAX_POINTS} values", f"{count}")
        return [start + k * step for k in range(count)]  # (integers stay integers)
    return [value]  # a single value: a sweep of one point in this parameter


def point_job(job, point, results_path):
    """The job of one point: ``job`` with the point's values in their sections, without
    ``[sweep]``, writing to :func:`point_output` (its checkpoint next to it, unless the job
    names a checkpoint path: then that path with the point's number)."""
    from .table import Job
    sections = copy.deepcopy(job.sections)
    sections.pop("sweep", None)
    for name, value in point.values.items():
        section, key = _target(name)
        table = sections.setdefault(section, {})
        if not isinstance(table, dict):
            raise ConfigError(f"[{section}]", "a table", table)
        table[key] = value
    ck = sections.get("checkpoint", {})
    if isinstance(ck, dict) and isinstance(ck.get("path"), str):
        stem, ext = os.path.splitext(ck["path"])
        ck["path"] = f"{stem}.p{point.index:04d}{ext}"
    return Job(job.path, job.text, sections, sweep=point), point_output(results_path, point)


def point_output(results_path, point):
    """``results/NAME/p0003.h5`` for point 3 of a job whose results file is ``results/NAME.h5``."""
    stem = os.path.splitext(results_path)[0]
    return os.path.join(stem, f"p{point.index:04d}.h5")
