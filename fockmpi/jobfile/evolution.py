"""``[evolution]``: real-time evolution |psi(t)> = exp(-i H t)|psi(0)> (hbar = 1, t in inverse
units of the couplings).  Not collective.

    [evolution]
    times = { stop = 10.0, points = 101 }   # or an explicit list, e.g. [0.0, 0.5, 1.0, 2.0]
    initial = "ground"                      # the lowest eigenvector of [model] in [sector], or the
                                            # local state of every site: initial = [1, 0, 1, 0, ...]
    method = "krylov"                       # or "mfn" (SLEPc's); tol = 1e-10 per unit time; krylov_dim = 30
    [evolution.model]                       # optional: the Hamiltonian for t > 0 (a quench), the keys of [model]

Local states (docs/conventions.md): spin S: m + S (spin-1/2: 0 down, 1 up); fermion: n;
electron: n_up + 2 n_dn (0 empty, 1 up, 2 down, 3 both); boson: n; gauge link: E + Lambda.
"""
import json
from dataclasses import dataclass

import numpy as np

from ..errors import ConfigError
from .table import Table

METHODS = ("krylov", "mfn")
MAX_TIMES = 100000


@dataclass
class EvolutionSettings:
    """What ``[evolution]`` asks for.

    times : (nt,) increasing times (the first is the initial state's, usually 0)
    initial : "ground" or a tuple of local states, one per site of the space
    quench : Model or None (the Hamiltonian for t > 0; None: the job's own)
    method : "krylov" | "mfn";  tol : error per unit time;  krylov_dim : vectors per Krylov space
    definition : the section as written (JSON, for the results file)"""

    times: np.ndarray
    initial: object
    quench: object
    method: str
    tol: float
    krylov_dim: int
    definition: str


def evolution_from_table(t: Table, lattice, space, read_model):
    """:class:`EvolutionSettings` of ``[evolution]`` (None when the job has none).  ``read_model``
    reads a model table on ``lattice`` (:func:`fockmpi.jobfile.model.model_from_table`)."""
    if not t.data:
        return None
    raw = t.data.get("times")
    t.used.add("times")
    times = _times(raw, t)
    initial_raw = t.data.get("initial", "ground")
    t.used.add("initial")
    if initial_raw == "ground":
        initial = "ground"
    else:
        ok = isinstance(initial_raw, list) and len(initial_raw) == space.nsites and all(
            isinstance(v, int) and not isinstance(v, bool) and 0 <= v < site.dim
            for v, site in zip(initial_raw, space.sites))
        if not ok:
            dims = sorted({site.dim for site in space.sites})
            raise ConfigError(t.key("initial"), f"\"ground\" or a list of {space.nsites} local states, one per site "
                              f"(integers 0 .. {max(dims) - 1}: spin-1/2 0 = down, 1 = up; electrons 0 empty, 1 up, "
                              "2 down, 3 both; docs/conventions.md)", initial_raw)
        initial = tuple(int(v) for v in initial_raw)
    method = t.get("method", "str", "krylov", choices=METHODS)
    tol = t.get("tol", "float", 1e-10, check=(lambda v: 0 < v < 1, "between 0 and 1"))
    krylov_dim = t.get("krylov_dim", "int", 30, check=(lambda v: 4 <= v <= 500, "from 4 to 500"))
    quench = None
    if "model" in t.data:
        sub = t.table("model")
        sub.base_dir = getattr(t, "base_dir", None)
        quench = read_model(sub, lattice)
        if [s.label() for s in quench.space.sites] != [s.label() for s in space.sites]:
            raise ConfigError("[evolution.model]", message="[evolution.model]: the quench Hamiltonian lives on other "
                              f"sites ({quench.space.describe()}) than [model] ({space.describe()}); a quench changes "
                              "couplings, not the sites")
    t.finish()
    definition = json.dumps(t.data, sort_keys=True, default=str)
    return EvolutionSettings(times, initial, quench, method, tol, krylov_dim, definition)


def _times(raw, t):
    if isinstance(raw, dict):
        sub = Table(raw, f"{t.where[:-1]}.times]")
        start = sub.get("start", "float", 0.0)
        stop = sub.get("stop", "float", check=(lambda v: v > start, f"> start ({start})"))
        points = sub.get("points", "int", check=(lambda v: 2 <= v <= MAX_TIMES, f"from 2 to {MAX_TIMES}"))
        sub.finish()
        return np.linspace(start, stop, points)
    if isinstance(raw, list) and raw and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in raw):
        times = np.asarray(raw, dtype=float)
        if len(times) <= MAX_TIMES and np.all(np.diff(times) > 0):
            return times
    raise ConfigError(t.key("times"), "{ stop = T, points = n } (optionally start = t0; n equally spaced times) or "
                      "an increasing list of times such as [0.0, 0.5, 1.0]", raw)
