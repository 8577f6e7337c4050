"""Job files (TOML): reading, and key-by-key validation with messages that teach.

A job file has the sections ``[lattice]``, ``[model]``, ``[sector]``, ``[solver]`` and
``[output]`` (see jobs/ and docs/jobfile.md).  Every stage reads its own section through a
:class:`Table`, which checks types and choices and, at :meth:`Table.finish`, reports keys that
nobody read, with the closest valid spelling.
"""
import difflib
import math
import numbers
import os
from dataclasses import dataclass, field
try:
    import tomllib
except ImportError:  # Python < 3.11
    import tomli as tomllib

from ..errors import ConfigError, did_you_mean


SECTIONS = ("lattice", "model", "sector", "solver", "output", "checkpoint", "sweep", "slurm", "observable",
            "spectrum", "evolution")
ARRAY_SECTIONS = ("observable", "spectrum")  # [[observable]], [[spectrum]]: lists of tables

_REQUIRED = object()


_KIND_NAMES = {
    "int": "an integer", "float": "a number", "str": "a string", "bool": "true or false",
    "list": "a list", "table": "a table", "complex": "a number or [re, im]",
}


class Table:
    """A section (or sub-table) of the job file being read.  Not collective.

    Parameters
    ----------
    data : dict
    where : str
        How to name it in messages, e.g. ``"[model]"`` or ``"[[model.term]] #2"``.
    """

    def __init__(self, data, where):
        if not isinstance(data, dict):
            raise ConfigError(where, "a table", data)
        self.data = data
        self.where = where
        self.used = set()

    def key(self, name):
        return f"{self.where} {name}"

    def __contains__(self, name):
        return name in self.data

    def get(self, name, kind, default=_REQUIRED, choices=None, check=None):
        """Value of ``name`` converted to ``kind`` (int, float, str, bool, list, table, complex).

        ``choices`` restricts values (a misspelling gets a suggestion); ``check`` is a
        ``(predicate, description)`` pair for ranges such as ``(lambda v: v > 0, "> 0")``.
        """
        self.used.add(name)
        if name not in self.data:
            if default is _REQUIRED:
                self._misspelled(name)
                expected = _KIND_NAMES[kind] + (f" (one of {', '.join(map(str, choices))})" if choices else "")
                raise ConfigError(self.key(name), f"{expected}, but the key is missing")
            return default
        value = self.data[name]
        value = _convert(value, kind, self.key(name))
        if choices is not None and value not in choices:
            raise ConfigError(self.key(name), f"one of {', '.join(map(repr, choices))}", value,
                              hint=did_you_mean(value, choices))
        if check is not None and not check[0](value):
            raise ConfigError(self.key(name), f"{_KIND_NAMES[kind]} {check[1]}", value)
        return value

    def _misspelled(self, name):
        """A required key is missing: if an unknown key looks like it, that is the error."""
        unknown = [k for k in self.data if k not in self.used]
        close = difflib.get_close_matches(name, unknown, n=1, cutoff=0.6)
        if close:
            raise ConfigError(self.key(close[0]), message=f"unknown key '{close[0]}' in {self.where}",
                              hint=f"did you mean '{name}'?")

    def require(self, name, expected):
        """Raise the error for a missing required key ``name`` described as ``expected``."""
        self.used.add(name)
        self._misspelled(name)
        raise ConfigError(self.key(name), f"{expected}, but the key is missing")

    def table(self, name, default=_REQUIRED):
        value = self.get(name, "table", default)
        return None if value is None else Table(value, f"{self.where[:-1]}.{name}]"
                                                if self.where.endswith("]") else f"{self.where}.{name}")

    def finish(self, extra_known=()):
        """Raise for a key nobody read (a typo, usually), suggesting the closest known key."""
        known = set(self.used) | set(extra_known)
        for name in self.data:
            if name not in known:
                hint = did_you_mean(name, known)
                raise ConfigError(self.key(name), message=f"unknown key '{name}' in {self.where}",
                                  hint=hint or f"known keys: {', '.join(sorted(known)) or 'none'}")


def check_finite(data, path=()):
    """Refuse ``nan`` and ``inf`` anywhere in a job (TOML allows them): no coupling, weight,
    tolerance or shift is meaningful as a non-finite number, and a ``nan`` coupling would
    silently compile to no term at all.  Not collective."""
    items = data.items() if isinstance(data, dict) else enumerate(data)
    for k, v in items:
        here = path + ((k,) if isinstance(data, dict) else (f"[{k}]",))
        if isinstance(v, (dict, list)):
            check_finite(v, here)
        elif isinstance(v, float) and not math.isfinite(v):
            name = f"[{here[0]}]" + (" " + ".".join(str(x) for x in here[1:]).replace(".[", "[") if len(here) > 1 else "")
            raise ConfigError(name, "a finite number", v, hint="nan and inf are not allowed anywhere in a job file")


def _convert(value, kind, key):
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            if isinstance(value, float) and value.is_integer():
                return int(value)
            raise ConfigError(key, "an integer", value)
        return int(value)
    if kind == "float":
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise ConfigError(key, "a number", value)
        if not math.isfinite(value):
            raise ConfigError(key, "a finite number", value)
        return float(value)
    if kind == "complex":
        if isinstance(value, list) and len(value) == 2 and all(
                isinstance(x, numbers.Real) and not isinstance(x, bool) for x in value):
            if not all(math.isfinite(x) for x in value):
                raise ConfigError(key, "a finite number or a pair [re, im] of finite numbers", value)
            return complex(value[0], value[1])
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise ConfigError(key, "a number or a pair [re, im]", value)
        if not math.isfinite(value):
            raise ConfigError(key, "a finite number", value)
        return float(value)
    if kind == "str":
        if not isinstance(value, str):
            raise ConfigError(key, "a string", value)
        return value
    if kind == "bool":
        if not isinstance(value, bool):
            raise ConfigError(key, "true or false", value)
        return value
    if kind == "list":
        if not isinstance(value, list):
            raise ConfigError(key, "a list", value)
        return value
    if kind == "table":
        if not isinstance(value, dict):
            raise ConfigError(key, "a table", value)
        return value
    raise ValueError(kind)


@dataclass
class Job:
    """A parsed job file: its verbatim text and its sections (plain dicts).  ``sweep`` is the
    :class:`~fockmpi.jobfile.sweep.SweepPoint` when this is one point of a ``[sweep]``."""

    path: str
    text: str
    sections: dict = field(default_factory=dict)
    sweep: object = None

    def table(self, name):
        """Section ``name`` as a :class:`Table` (empty if absent)."""
        return Table(self.sections.get(name, {}), f"[{name}]")

    def tables(self, name):
        """The ``[[name]]`` tables, in order, as dicts (empty if absent)."""
        return list(self.sections.get(name, []))


def load_job(path):
    """Read and parse a job file; check its top-level sections.  Not collective.

    Raises :class:`ConfigError` for a missing file, a TOML syntax error (with its line) or an
    unknown section.
    """
    if not os.path.isfile(path):
        raise ConfigError("job file", "an existing TOML file", path, hint="check the path")
    with open(path, "rb") as f:
        raw = f.read()
    try:
        text = raw.decode("utf-8")
        data = tomllib.loads(text)
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise ConfigError(path, message=f"{path}: not valid TOML: {e}") from None
    return parse_job(data, path, text)


def parse_job(data, path="<job>", text=""):
    """Check a job given as a dict (e.g. from a notebook)."""
    for name, value in data.items():
        if not isinstance(value, (dict, list)) and name not in SECTIONS:
            raise ConfigError(name, message=f"{path}: unknown key '{name}' at the top level, before any "
                              "[section] header", hint=f"a job file holds only the sections {', '.join(SECTIONS)}; "
                              "put keys under one of them")
        if name not in SECTIONS:
            raise ConfigError(f"[{name}]", message=f"{path}: unknown section [{name}]",
                              hint=did_you_mean(name, SECTIONS) or f"sections are {', '.join(SECTIONS)}")
        if name in ARRAY_SECTIONS:
            if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
                raise ConfigError(f"[[{name}]]", f"tables, each under its own [[{name}]] header", value)
        elif not isinstance(value, dict):
            raise ConfigError(f"[{name}]", "a table (a [section] header)", value)
    check_finite(data)
    if "model" not in data:
        raise ConfigError("[model]", message=f"{path}: the section [model] is missing")
    # (whether [lattice] is needed depends on the model: fockmpi.jobfile.spec.read_job)
    return Job(path=path, text=text, sections=data)
