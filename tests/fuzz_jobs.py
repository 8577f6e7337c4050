"""Malformed job files, generated from valid ones, and a runner that feeds them to the command
line in one process (serially, or on every rank under mpirun).

Every mutation makes the job invalid by construction (a value of a type no key accepts there,
nan or inf, a misspelled or unknown key, a missing required key, an impossible value), so the
promise to check is the same for all: exit status 2, one message, no traceback, no file.

    python tests/fuzz_jobs.py DIR [COUNT]            # writes DIR/report.json
    mpirun -n 2 python tests/fuzz_jobs.py DIR [COUNT]
"""
import contextlib
import copy
import io
import json
import os
import random
import sys

BASES = {
    "heisenberg": {
        "lattice": {"type": "chain", "size": [6], "boundary": "periodic"},
        "model": {"type": "heisenberg", "J": 1.0, "Delta": 0.5, "J2": 0.2},
        "sector": {"Sz": 0, "momentum": 0, "reflection": 1},
        "solver": {"nev": 2, "tol": 1e-9, "complete_multiplets": True},
        "output": {"eigenvectors": True},
    },
    "hubbard": {
        "lattice": {"type": "chain", "size": [4]},
        "model": {"type": "hubbard", "t": 1.0, "U": 4.0},
        "sector": {"N_up": 2, "N_dn": 2, "spin_flip": 1},
        "solver": {"nev": 1, "method": "lanczos"},
    },
    "custom": {
        "lattice": {"type": "custom", "sites": 4, "bonds": {"nn": [[0, 1, 0.5], [1, 2], [2, 3, 1.5]]}},
        "model": {"type": "custom", "site": "spin",
                  "term": [{"coef": 0.5, "op": "S+_i S-_j", "bonds": "nn", "hc": True},
                           {"coef": -0.3, "op": "Sz_i", "sites": "all"}]},
        "sector": {"Sz": 0},
        "solver": {"which": "target", "target": -0.5, "nev": 1},
    },
    "tV": {
        "lattice": {"type": "square", "size": [2, 3], "boundary": ["periodic", "open"]},
        "model": {"type": "tV", "t": 1.0, "V": 2.0},
        "sector": {"N": 3},
        "solver": {"ncv": 12, "max_it": 500},
    },
}

# (base, path, value): impossible values for keys that accept other values of the same type
IMPOSSIBLE = [
    ("heisenberg", ("lattice", "size", 0), 0), ("heisenberg", ("lattice", "size", 0), -3),
    ("heisenberg", ("sector", "Sz"), 7), ("heisenberg", ("sector", "Sz"), 0.25),
    ("heisenberg", ("sector", "reflection"), 2), ("heisenberg", ("solver", "nev"), 0),
    ("heisenberg", ("solver", "tol"), 0.0), ("heisenberg", ("solver", "tol"), 2.0),
    ("heisenberg", ("lattice", "type"), "chian"), ("heisenberg", ("model", "type"), "heisenburg"),
    ("heisenberg", ("lattice", "boundary"), "periodc"), ("heisenberg", ("lattice", "size"), [6, 6]),
    ("heisenberg", ("sector", "momentum"), [1, 2]), ("heisenberg", ("solver", "which"), "lowest"),
    ("heisenberg", ("sector", "spin_flip"), "all"),
    ("hubbard", ("sector", "N_up"), 5), ("hubbard", ("sector", "N_up"), 3),
    ("hubbard", ("sector", "N"), 3), ("hubbard", ("solver", "method"), "arpack"),
    ("hubbard", ("model", "term"), [{"op": "cdag_0,up c_1,dn", "hc": True}]),
    ("hubbard", ("model", "term"), [{"op": "cdag_0,up c_1,up"}]),
    ("hubbard", ("model", "term"), [{"op": "S+_0 S-_1", "hc": True}]),
    ("hubbard", ("solver", "options"), {"eps_type": "notasolver"}),
    ("hubbard", ("solver", "options"), {"eps_nevv": 2}),
    ("custom", ("lattice", "sites"), 0), ("custom", ("lattice", "bonds", "nn", 0), [0, 4]),
    ("custom", ("lattice", "bonds", "nn", 0), [1, 1]), ("custom", ("lattice", "bonds", "nn", 0), [0]),
    ("custom", ("model", "site"), "qubit"), ("custom", ("model", "term", 0, "op"), "S+_i S-_k"),
    ("custom", ("model", "term", 0, "op"), "Q+_i S-_j"), ("custom", ("model", "term", 0, "op"), "Sz_\u0663"),
    ("custom", ("model", "term", 0, "bonds"), "nnn"), ("custom", ("model", "term", 1, "sites"), [0, 9]),
    ("custom", ("model", "term", 0, "hc"), False), ("custom", ("solver", "which"), "smallest"),
    ("custom", ("solver", "method"), "lobpcg"), ("custom", ("output", "path"), ""),
    ("tV", ("sector", "N"), 7), ("tV", ("sector", "momentum"), [0, 0]), ("tV", ("sector", "point_group"), "A1"),
    ("tV", ("sector", "particle_hole"), 1), ("tV", ("lattice", "boundary"), ["periodic"]),
    ("tV", ("lattice", "size"), [2, 40]), ("tV", ("solver", "ncv"), -1), ("tV", ("model", "mu"), "one"),
]

REQUIRED = [("heisenberg", ("lattice", "type")), ("heisenberg", ("model", "type")),
            ("heisenberg", ("lattice", "size")), ("custom", ("lattice", "sites")), ("custom", ("model", "site")),
            ("custom", ("model", "term", 0, "op")), ("heisenberg", ("lattice",)), ("hubbard", ("model",))]


def _leaves(node, path=()):
    """(path, value) of every scalar in a job."""
    items = node.items() if isinstance(node, dict) else enumerate(node)
    for k, v in items:
        if isinstance(v, (dict, list)):
            yield from _leaves(v, path + (k,))
        else:
            yield path + (k,), v


def _tables(node, path=()):
    """Paths of every table (dict) of a job, the top level excluded."""
    items = node.items() if isinstance(node, dict) else enumerate(node)
    for k, v in items:
        if isinstance(v, dict):
            yield path + (k,)
        if isinstance(v, (dict, list)):
            yield from _tables(v, path + (k,))


def _set(job, path, value):
    node = job
    for k in path[:-1]:
        node = node.setdefault(k, {}) if isinstance(node, dict) else node[k]
    node[path[-1]] = value


def _delete(job, path):
    node = job
    for k in path[:-1]:
        node = node[k]
    del node[path[-1]]


def _wrong_type(value):
    """A value of a type that no key accepts where ``value`` stands."""
    if isinstance(value, bool):
        return "yes"
    if isinstance(value, (int, float)):
        return "text"
    return 12345  # a string key given a number


def cases(count=300, seed=8):
    """``count`` malformed jobs as (description, dict), the same on every call."""
    rng = random.Random(seed)
    out = []
    for base, path, value in IMPOSSIBLE:
        job = copy.deepcopy(BASES[base])
        _set(job, path, value)
        if path == ("sector", "spin_flip"):
            job["sector"]["Sz"] = 1  # spin flip away from Sz = 0
        out.append((f"{base}: {'.'.join(map(str, path))} = {value!r}", job))
    for base, path in REQUIRED:
        job = copy.deepcopy(BASES[base])
        _delete(job, path)
        out.append((f"{base}: without {'.'.join(map(str, path))}", job))
    names = sorted(BASES)
    while len(out) < count:
        base = rng.choice(names)
        job = copy.deepcopy(BASES[base])
        kind = rng.choice(("nonfinite", "type", "misspell", "unknown", "scalar_section"))
        if kind == "nonfinite":
            numeric = [(p, v) for p, v in _leaves(job) if isinstance(v, (int, float)) and not isinstance(v, bool)]
            path, _ = rng.choice(numeric)
            value = rng.choice((float("nan"), float("inf"), float("-inf")))
            _set(job, path, value)
            what = f"{'.'.join(map(str, path))} = {value}"
        elif kind == "type":
            path, old = rng.choice(list(_leaves(job)))
            _set(job, path, _wrong_type(old))
            what = f"{'.'.join(map(str, path))}: {old!r} -> {_wrong_type(old)!r}"
        elif kind == "misspell":
            table = rng.choice([p for p in _tables(job) if p[-1] != "bonds"])
            node = job
            for k in table:
                node = node[k]
            if table == ("lattice", "bonds"):
                continue
            key = rng.choice(sorted(node))
            typo = rng.choice((key + "x", key[:-1] if len(key) > 2 else key + "_", key.upper() if key != key.upper()
                               else key.lower() + "q"))
            node[typo] = node.pop(key)
            what = f"{'.'.join(map(str, table))}: {key} -> {typo}"
        elif kind == "unknown":
            table = rng.choice(list(_tables(job)))
            node = job
            for k in table:
                node = node[k]
            node["bogus_key"] = rng.choice((1, "x", 2.5, True))
            what = f"{'.'.join(map(str, table))}: bogus_key"
        else:
            section = rng.choice(sorted(job))
            job[section] = rng.choice((5, "text", [1, 2]))
            what = f"[{section}] = {job[section]!r}"
        out.append((f"{base}: {kind} {what}", job))
    return out[:count]


def to_toml(job):
    """TOML text of a job (tables, arrays of tables, nan and inf included)."""
    def value(v):
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, float):
            if v != v:
                return "nan"
            if v in (float("inf"), float("-inf")):
                return "inf" if v > 0 else "-inf"
            return repr(v)
        if isinstance(v, int):
            return str(v)
        if isinstance(v, str):
            return json.dumps(v, ensure_ascii=False)
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v) + "]"
        if isinstance(v, dict):
            return "{" + ", ".join(f"{_key(k)} = {value(x)}" for k, x in v.items()) + "}"
        raise TypeError(v)

    lines = [f"{_key(k)} = {value(v)}" for k, v in job.items() if not isinstance(v, dict)]
    for name, table in job.items():
        if not isinstance(table, dict):
            continue
        lines.append(f"\n[{_key(name)}]")
        arrays = {k: v for k, v in table.items() if isinstance(v, list) and v and all(isinstance(x, dict) for x in v)}
        for k, v in table.items():
            if k not in arrays:
                lines.append(f"{_key(k)} = {value(v)}")
        for k, entries in arrays.items():
            for entry in entries:
                lines.append(f"\n[[{_key(name)}.{_key(k)}]]")
                lines.extend(f"{_key(a)} = {value(b)}" for a, b in entry.items())
    return "\n".join(lines) + "\n"


def _key(k):
    k = str(k)
    return k if k.replace("_", "").replace("-", "").isalnum() and k.isascii() else json.dumps(k)


def run(directory, count):
    """Feed every case to ``fockmpi run`` (and, on one rank, ``fockmpi info``) in this process;
    rank 0 writes ``directory/report.json``: one entry per case and command with the exit
    status, the stderr of every rank and whether any file appeared."""
    from fockmpi.app import cli
    from fockmpi.parallel import world
    comm = world()
    report = []
    for k, (what, job) in enumerate(cases(count, seed=int(os.environ.get("FUZZ_SEED", 8)))):
        path = os.path.join(directory, f"case{k:04d}.toml")
        if comm.rank == 0:
            with open(path, "w", encoding="utf-8") as f:
                f.write(to_toml(job))
        comm.barrier()
        out = os.path.join(directory, f"case{k:04d}.h5")
        commands = [["run", path, "-o", out]] + ([["info", path]] if comm.size == 1 else [])
        for command in commands:
            err, std = io.StringIO(), io.StringIO()
            with contextlib.redirect_stderr(err), contextlib.redirect_stdout(std):
                try:
                    code = cli.main(command)
                except SystemExit as e:  # argparse
                    code = e.code
            errors = comm.gather(err.getvalue(), root=0)
            codes = comm.gather(code, root=0)
            if comm.rank == 0:
                written = sorted(f for f in os.listdir(directory) if f.startswith(f"case{k:04d}.h5"))
                report.append({"case": what, "command": command[0], "codes": codes, "stderr": errors,
                               "written": written})
    if comm.rank == 0:
        with open(os.path.join(directory, "report.json"), "w") as f:
            json.dump(report, f, indent=1)


if __name__ == "__main__":
    run(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 300)
