"""A whole job file read into the stages' own objects (:class:`JobSpec`): after this nothing
reads TOML.  Not collective (every rank reads the same file the same way)."""
import os
from dataclasses import dataclass

from ..errors import ConfigError
from ..basis.sector import Sector
from .evolution import evolution_from_table
from .lattice import lattice_from_table
from .model import OWN_SITES, extra_terms, model_from_table, pair_terms
from .sector import sector_choices, sector_from_table
from .solver import settings_from_table
from .table import Table


@dataclass
class JobSpec:
    """What a job asks for.

    lattice : Lattice;  model : Model (``.space``, ``.hamiltonian``, ``.name``)
    sector : Sector (the charges);  choices : list of generator lists, one per symmetry sector
        asked for (``[[]]`` without lattice symmetries; several when a label is "all")
    solver : SolverSettings;  output_path : str (``-o`` wins over ``[output] path``)
    write_vectors : bool (``[output] eigenvectors``)
    observables : {name: (Operator, definition)} of ``[[observable]]`` (definition: the entry as
        written, for the results file)
    """

    lattice: object
    model: object
    sector: object
    choices: list
    solver: object
    output_path: str
    write_vectors: bool
    checkpoint: object = None  # CheckpointSettings ([checkpoint])
    observables: dict = None
    spectra: list = None  # SpectrumRequest of every [[spectrum]]
    evolution: object = None  # EvolutionSettings of [evolution], or None


def observables_from_tables(entries, lattice, space):
    """``{name: (Operator, definition)}`` of ``[[observable]]`` entries: ``name`` and the keys of a
    ``[[model.term]]`` (``op``, ``coef``, ``hc``, ``bonds`` or ``sites``: a sum over them), or with
    ``pairs = "all"`` ``{(i, j): Operator}`` for every ordered pair of sites (a correlation
    matrix).  Not collective."""
    import json
    out = {}
    for n, entry in enumerate(entries):
        where = f"[[observable]] #{n + 1}"
        name = entry.get("name")
        if not isinstance(name, str) or not name.replace("_", "").isalnum() or not name[:1].isalpha():
            raise ConfigError(f"{where} name", "a name of letters, digits and _ that starts with a letter, e.g. "
                              "\"SzSz_nn\"", name)
        if name in out:
            raise ConfigError(f"{where} name", message=f"{where}: the name {name!r} is already used by another "
                              "[[observable]]")
        rest = {k: v for k, v in entry.items() if k != "name"}
        if "quantity" in rest:  # a named operator of the whole system
            out[name] = (_quantity(rest, space, f"[[observable]] {name}"), json.dumps(rest, sort_keys=True))
            continue
        if "distribution" in rest:  # the probability of every local state of one site
            out[name] = (_distribution(rest, space, f"[[observable]] {name}"), json.dumps(rest, sort_keys=True))
            continue
        if "op" not in rest:
            raise ConfigError(f"{where} op", message=f"{where} ({name}): the key 'op' is missing (an operator "
                              "string as in [[model.term]], e.g. op = \"Sz_i Sz_j\" with bonds = \"nn\")")
        if "structure_factor" in rest and "pairs" not in rest:
            raise ConfigError(f"{where} structure_factor", message=f"{where} ({name}): structure_factor needs "
                              "pairs = \"all\" (S(q) is the Fourier transform of the correlation matrix)")
        if rest.get("structure_factor") is True and (lattice is None or not lattice.size
                                                     or any(b != "periodic" for b in lattice.boundary)):
            raise ConfigError(f"{where} structure_factor", message=f"{where} ({name}): S(q) needs a built-in "
                              "lattice with periodic boundaries (its momenta)")
        if "pairs" in rest:  # a correlation matrix: one value per ordered pair of sites
            op = pair_terms(rest, space.nsites, space, where=f"[[observable]] {name}")
        elif "each_site" in rest:  # a profile: one value per site of `sites`
            op = _each_site(rest, lattice, space, f"[[observable]] {name}")
        else:
            op = extra_terms([rest], lattice, space, where=f"[[observable]] {name}")
        out[name] = (op, json.dumps(rest, sort_keys=True))
    return out


QUANTITIES = ("S2",)


def _quantity(entry, space, where):
    """The Operator of ``quantity = "S2"``: the total spin squared of the spin and electron sites
    (:func:`fockmpi.models.named.spin_squared`; S(S+1) in an eigenstate of S^2)."""
    from ..models.named import spin_squared
    t = Table(entry, where)
    t.get("quantity", "str", choices=QUANTITIES)
    t.finish()
    if not any(site.kind in ("spin", "electron") for site in space.sites):
        raise ConfigError(t.key("quantity"), message=f"{where}: S2 needs spin or electron sites, and "
                          f"{space.describe()} has none")
    return spin_squared(space)


def _distribution(entry, space, where):
    """:class:`~fockmpi.observables.LocalDistribution` of ``distribution = true`` with ``site``."""
    from ..observables import LocalDistribution
    t = Table(entry, where)
    t.get("distribution", "bool", check=(lambda v: v, "true (the probability of every local state of 'site')"))
    site = t.get("site", "int", check=(lambda v: 0 <= v < space.nsites, f"a site 0 .. {space.nsites - 1}"))
    t.finish()
    return LocalDistribution(site, space.sites[site].dim)


def _each_site(entry, lattice, space, where):
    """``{(i,): Operator}`` of an ``[[observable]]`` with ``each_site = true``: the term on each site
    of ``sites`` ("all": the lattice's sites; or a list), in that order.  Not collective."""
    rest = dict(entry)
    flag = rest.pop("each_site")
    if flag is not True:
        raise ConfigError(f"{where} each_site", "true (one value per site of 'sites')", flag)
    sites = rest.get("sites")
    if sites is None or "bonds" in rest:
        raise ConfigError(f"{where} each_site", message=f"{where}: each_site needs 'sites' (\"all\" or a list of "
                          "site indices) and no 'bonds'")
    if sites == "all":
        sites = list(range(lattice.nsites if lattice is not None else space.nsites))
    if not isinstance(sites, list) or not sites or not all(isinstance(i, int) and not isinstance(i, bool) and
                                                          0 <= i < space.nsites for i in sites):
        raise ConfigError(f"{where} sites", f"\"all\" or a list of site indices 0 .. {space.nsites - 1}", sites)
    return {(i,): extra_terms([dict(rest, sites=[i])], lattice, space, where=where) for i in sites}


def spectra_from_tables(entries, lattice, space):
    """:class:`~fockmpi.spectra.SpectrumRequest` of every ``[[spectrum]]`` entry: ``name``, ``op``
    (a one-site operator string with the site letter i, e.g. "Sz_i" or "cdag_i,up"), ``omega =
    [min, max, points]``, ``broadening`` (eta > 0), and optionally ``q`` ("all", default, or a
    list of momentum labels m or [m1, m2]), ``steps`` (most Lanczos steps per q, default 400),
    ``tol`` (default 1e-6), ``branch`` ("positive", default; "negative"; "both").  Not collective."""
    import json
    import numpy as np
    from ..errors import OperatorError
    from ..spectra import BRANCHES, SpectrumRequest, fourier_operator
    from .table import Table
    out, names = [], set()
    for n, entry in enumerate(entries):
        where = f"[[spectrum]] #{n + 1}"
        t = Table(entry, where)
        name = t.get("name", "str")
        if not name.replace("_", "").isalnum() or not name[:1].isalpha():
            raise ConfigError(t.key("name"), "a name of letters, digits and _ that starts with a letter, e.g. "
                              "\"Szz\"", name)
        if name in names:
            raise ConfigError(t.key("name"), message=f"{where}: the name {name!r} is already used by another "
                              "[[spectrum]]")
        names.add(name)
        where = f"[[spectrum]] {name}"
        t.where = where
        if lattice is None or not lattice.size or any(b != "periodic" for b in lattice.boundary):
            raise ConfigError(where, message=f"{where}: spectra are resolved by momentum and need a built-in lattice "
                              "with periodic boundaries ([lattice] type and size)")
        text = t.get("op", "str")
        if "_i" not in text or "_j" in text:
            raise ConfigError(t.key("op"), "an operator of the one site i, e.g. \"Sz_i\" or \"cdag_i,up\" "
                              "(O_q = N^-1/2 sum_i exp(i q.r_i) O_i)", text)
        omega = t.get("omega", "list")
        if len(omega) != 3 or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in omega) \
                or not float(omega[1]) > float(omega[0]) or not isinstance(omega[2], int) or not 2 <= omega[2] <= 10 ** 6:
            raise ConfigError(t.key("omega"), "[min, max, points]: two numbers min < max and an integer 2 .. 10^6 "
                              "of points, e.g. [0.0, 4.0, 401]", omega)
        eta = t.get("broadening", "float", check=(lambda v: v > 0, "> 0 (the half width of the Lorentzians, in the "
                                                  "units of the couplings)"))
        steps = t.get("steps", "int", 400, check=(lambda v: 1 <= v <= 100000, "from 1 to 100000"))
        tol = t.get("tol", "float", 1e-6, check=(lambda v: 0 < v < 1, "between 0 and 1"))
        branch = t.get("branch", "str", "positive", choices=BRANCHES)
        size = list(lattice.size)
        raw = t.data.get("q", "all")
        t.used.add("q")
        t.finish()
        if raw == "all":
            labels = [tuple(lab) for lab in np.ndindex(*size[::-1])]
            labels = [tuple(int(x) for x in lab[::-1]) for lab in labels]
        else:
            if not isinstance(raw, list) or not raw:
                raise ConfigError(t.key("q"), f"\"all\" or a list of momentum labels (m with k = 2 pi m / L, "
                                  f"{'[m1, m2] each' if len(size) > 1 else 'integers'})", raw)
            labels = []
            for lab in raw:
                lab = [lab] if isinstance(lab, int) and not isinstance(lab, bool) else lab
                if not isinstance(lab, list) or len(lab) != len(size) or \
                        not all(isinstance(m, int) and not isinstance(m, bool) for m in lab):
                    raise ConfigError(t.key("q"), f"momentum labels of {len(size)} integer(s) each", lab)
                labels.append(tuple(int(m) % L for m, L in zip(lab, size)))
        try:
            operators = [fourier_operator(text, lattice, space, lab) for lab in labels]
        except OperatorError as e:
            raise OperatorError(f"{where} op: {e}") from None
        definition = json.dumps({k: v for k, v in entry.items()}, sort_keys=True)
        out.append(SpectrumRequest(name, text, labels, operators, np.linspace(float(omega[0]), float(omega[1]),
                                                                              omega[2]),
                                   eta, steps, tol, branch, definition))
    return out


@dataclass
class CheckpointSettings:
    """``[checkpoint]``: ``interval`` minutes between checkpoints of the solve (default 30; 0: only
    when a signal asks for one), ``path`` of the checkpoint file (default: the results file's name
    with ``.checkpoint.h5``)."""

    interval_minutes: float
    path: str


def results_path(job, output_path=None):
    """The results file of ``job``: ``output_path`` (``-o``) if given, else ``[output] path``,
    else ``results/JOB.h5``."""
    out = job.table("output")
    default = os.path.join("results", os.path.splitext(os.path.basename(job.path))[0] + ".h5")
    path = out.get("path", "str", default)
    if not path.strip():
        raise ConfigError(out.key("path"), "a file name such as \"results/run.h5\"", path)
    return output_path if output_path is not None else path


def read_job(job, output_path=None):
    """Every section of ``job`` (a :class:`~fockmpi.jobfile.table.Job`), checked key by key.
    A job with ``[sweep]`` is read point by point (:func:`fockmpi.jobfile.sweep.point_job`)."""
    if "sweep" in job.sections:
        raise ConfigError("[sweep]", message=f"{job.path} has [sweep]: run its points with `fockmpi run` (all) or "
                          "`fockmpi run --point K`, or submit it as an array with `fockmpi submit`")
    model_table = job.table("model")
    model_table.base_dir = os.path.dirname(os.path.abspath(job.path)) if job.path != "<job>" else None
    if model_table.data.get("type") in OWN_SITES:
        if "lattice" in job.sections:
            raise ConfigError("[lattice]", message=f"[lattice]: the {model_table.data['type']} model defines its "
                              "own sites; remove [lattice]")
        model = model_from_table(model_table, None)
        lattice = model.lattice
    else:
        if "lattice" not in job.sections:
            raise ConfigError("[lattice]", message=f"{job.path}: the section [lattice] is missing")
        lattice = lattice_from_table(job.table("lattice"))
        model = model_from_table(model_table, lattice)
    sector_table = job.table("sector")
    sector = sector_from_table(sector_table, model.space)
    if not sector.values and getattr(model, "default_sector", None):
        sector = Sector(model.space, model.default_sector)  # FCIDUMP: NELEC and MS2
    choices = sector_choices(sector_table, lattice)
    solver = settings_from_table(job.table("solver"))
    out = job.table("output")
    results = results_path(job, output_path)  # ([output] path read and checked even when -o overrides it)
    vectors = out.get("eigenvectors", "bool", True)
    out.used.add("path")  # (read by results_path)
    out.finish()
    ck = job.table("checkpoint")
    interval = ck.get("interval", "float", 30.0, check=(lambda v: v >= 0, "0 (only on a signal) or more minutes"))
    ck_path = ck.get("path", "str", os.path.splitext(results)[0] + ".checkpoint.h5")
    if not ck_path.strip() or os.path.abspath(ck_path) == os.path.abspath(results):
        raise ConfigError(ck.key("path"), "a file name other than the results file's", ck_path)
    ck.finish()
    observables = observables_from_tables(job.tables("observable"), lattice, model.space)
    spectra = spectra_from_tables(job.tables("spectrum"), lattice, model.space)
    evolution_table = job.table("evolution")
    evolution_table.base_dir = model_table.base_dir
    evolution = evolution_from_table(evolution_table, lattice, model.space, model_from_table)
    return JobSpec(lattice, model, sector, choices, solver, results, vectors, CheckpointSettings(interval, ck_path),
                   observables, spectra, evolution)
