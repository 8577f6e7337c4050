"""[model] of a job file -> (Space, Operator), through the named constructors of fockmpi.models."""
from ..errors import ConfigError, OperatorError
from ..models import ops
from ..models.cavity import dicke, jaynes_cummings, rabi, tavis_cummings
from ..models.chemistry import fcidump
from ..models.gauge import schwinger, schwinger_ring, schwinger_spins
from ..models.named import (
    Model,
    bose_hubbard,
    custom,
    heisenberg,
    holstein,
    hubbard,
    hubbard_holstein,
    rydberg,
    tV,
    tfim,
)
from ..models.space import MAX_LAMBDA, MAX_SPIN, SITE_KINDS, LocalSpace, Space, spin_value
from .table import Table


MODEL_TYPES = ("heisenberg", "xxz", "tfim", "hubbard", "tV", "bose_hubbard", "holstein", "hubbard_holstein", "custom",
               "rabi", "jaynes_cummings", "tavis_cummings", "dicke", "schwinger", "schwinger_spins", "schwinger_ring", "rydberg",
               "fcidump")

# models that define their own sites: no [lattice]
OWN_SITES = ("rabi", "jaynes_cummings", "tavis_cummings", "dicke", "schwinger", "schwinger_spins", "schwinger_ring",
             "fcidump")

# [model] keys of each type: (key, default); the values go to the constructor as keywords
_NMAX_RANGE = (lambda v: 1 <= v <= 255, "between 1 and 255")
_LAMBDA_RANGE = (lambda v: 1 <= v <= MAX_LAMBDA, f"between 1 and {MAX_LAMBDA}")


_KEYS = {
    "heisenberg": (("J", 1.0), ("Delta", 1.0), ("J2", 0.0), ("h", 0.0), ("D", 0.0)),
    "tfim": (("J", 1.0), ("h", 0.0)),
    "hubbard": (("t", 1.0), ("U", 0.0), ("mu", 0.0)),
    "tV": (("t", 1.0), ("V", 0.0), ("mu", 0.0)),
    "bose_hubbard": (("t", 1.0), ("U", 0.0), ("mu", 0.0)),
    "holstein": (("t", 1.0), ("omega", 1.0), ("g", 0.0)),
    "hubbard_holstein": (("t", 1.0), ("U", 0.0), ("omega", 1.0), ("g", 0.0), ("mu", 0.0)),
    "custom": (),
    "rabi": (("omega", 1.0), ("Delta", 1.0), ("g", 0.0)),
    "jaynes_cummings": (("omega", 1.0), ("Delta", 1.0), ("g", 0.0)),
    "tavis_cummings": (("omega", 1.0), ("Delta", 1.0), ("g", 0.0)),
    "dicke": (("omega", 1.0), ("Delta", 1.0), ("g", 0.0)),
    "schwinger": (("x", 1.0), ("mu", 0.0), ("theta", 0.0), ("boundary_field", 0.0)),
    "schwinger_spins": (("x", 1.0), ("mu", 0.0), ("theta", 0.0), ("boundary_field", 0.0)),
    "schwinger_ring": (("x", 1.0), ("mu", 0.0), ("theta", 0.0)),
    "rydberg": (("Omega", 1.0), ("Delta", 0.0)),
    "fcidump": (),
}


_BUILDERS = {"heisenberg": heisenberg, "xxz": heisenberg, "tfim": tfim, "hubbard": hubbard, "tV": tV,
             "bose_hubbard": bose_hubbard, "holstein": holstein, "hubbard_holstein": hubbard_holstein,
             "custom": custom, "rabi": rabi, "jaynes_cummings": jaynes_cummings, "tavis_cummings": tavis_cummings,
             "dicke": dicke, "schwinger": schwinger, "schwinger_spins": schwinger_spins,
             "schwinger_ring": schwinger_ring, "rydberg": rydberg,
             "fcidump": fcidump}


def mixed_space(entries, lattice, where="[[model.sites]]"):
    """The space of ``[[model.sites]]`` entries (``kind``, ``sites`` = a list or "all", and ``S``
    or ``nmax``): every site of the space named once.  The space has the lattice's sites, or a
    whole multiple of them (layers: site ``k n + i`` sits on lattice site ``i``, and lattice
    symmetries move every layer alike).  Not collective."""
    if not entries:
        raise ConfigError(where, "at least one entry: kind = \"spin\", sites = [0, 1]", entries)
    kinds = {}
    for n, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise ConfigError(f"{where} #{n + 1}", "a table with kind and sites", entry)
        e = Table(entry, f"{where} #{n + 1}")
        kind = e.get("kind", "str", choices=SITE_KINDS)
        nmax = e.get("nmax", "int", check=_NMAX_RANGE) if kind == "boson" else None
        S = spin_from_table(e, "S") if kind == "spin" and "S" in e else None
        cutoff = e.get("Lambda", "int", check=_LAMBDA_RANGE) if kind == "link" else None
        sites = e.data.get("sites")
        e.used.add("sites")
        e.finish()
        if sites == "all":
            sites = list(range(lattice.nsites))
        if not isinstance(sites, list) or not sites or not all(
                isinstance(i, int) and not isinstance(i, bool) and i >= 0 for i in sites):
            raise ConfigError(e.key("sites"), "\"all\" or a list of site indices 0, 1, ...", sites)
        for i in sites:
            if i in kinds:
                raise ConfigError(e.key("sites"), message=f"{e.key('sites')}: site {i} is already given "
                                  f"(by {kinds[i][0]}); every site has one local space")
            kinds[i] = (e.where, LocalSpace(kind, nmax, S, cutoff))
    count = max(kinds) + 1
    missing = sorted(set(range(count)) - set(kinds))
    if missing:
        raise ConfigError(where, message=f"{where}: no local space for site{'s' if len(missing) > 1 else ''} "
                          f"{', '.join(map(str, missing[:8]))}; every site 0..{count - 1} needs one")
    if count % lattice.nsites:
        raise ConfigError(where, message=f"{where}: {count} sites, but the lattice has {lattice.nsites}; give "
                          f"the lattice's sites (or a whole multiple of them: one layer per local space)")
    return Space([kinds[i][1] for i in range(count)])


def spin_from_table(t, key):
    """A spin S from a table: 1, 1.5, or a string "3/2"; 1/2 ... 50.  Not collective."""
    raw = t.data[key]
    t.used.add(key)
    try:
        return spin_value(raw)
    except OperatorError:
        raise ConfigError(t.key(key), f"a spin 1/2, 1, 3/2, ... {MAX_SPIN} (a number, or a string such as \"3/2\")",
                          raw) from None


def pair_terms(entry, nsites, space, where):
    """``{(i, j): Operator}`` of one ``[[observable]]`` entry with ``pairs = "all"``: its ``op``
    (with ``coef`` and ``hc``) for every ordered pair of sites i, j (i = j included).  Not
    collective."""
    t = Table(entry, where)
    text = t.get("op", "str")
    coef = t.get("coef", "complex", 1.0)
    add_hc = t.get("hc", "bool", False)
    t.get("pairs", "str", check=(lambda v: v == "all", "\"all\" (every ordered pair of sites i, j)"))
    t.get("structure_factor", "bool", False)  # (read by the caller)
    t.finish()
    if "_i" not in text or "_j" not in text:
        raise ConfigError(t.key("op"), "an operator of the two sites i and j, e.g. \"Sz_i Sz_j\"", text)
    out = {}
    for i in range(nsites):
        for j in range(nsites):
            try:
                term = coef * ops.parse_operator(text, space.site_kind, {"i": i, "j": j})
            except OperatorError as e:
                raise OperatorError(f"{where} op: {e}") from None
            out[(i, j)] = term.plus_hc() if add_hc else term
    return out


def extra_terms(entries, lattice, space, where="[[model.term]]"):
    """Operator of user-written ``[[model.term]]`` entries (list of dicts).  Not collective."""
    if not isinstance(entries, list):
        raise ConfigError(where, "a list of tables ([[model.term]] entries)", entries)
    H = ops.Operator()
    for n, entry in enumerate(entries):
        t = Table(entry, f"{where} #{n + 1}")
        text = t.get("op", "str")
        coef = t.get("coef", "complex", 1.0)
        add_hc = t.get("hc", "bool", False)
        bonds = t.get("bonds", "str", None)
        sites = t.data.get("sites")
        t.used.add("sites")
        t.finish()
        if bonds is not None and sites is not None:
            raise ConfigError(t.key("sites"), message=f"{t.where}: give 'bonds' or 'sites', not both")
        if bonds is not None:
            jobs = [(Jij, {"i": i, "j": j}) for i, j, Jij in lattice.bond_list(bonds, where=t.key("bonds"))]
        elif sites is not None:
            if sites == "all":
                sites = list(range(lattice.nsites))
            if not isinstance(sites, list) or not all(isinstance(s, int) and not isinstance(s, bool) for s in sites):
                raise ConfigError(t.key("sites"), "\"all\" or a list of site indices", sites)
            jobs = [(1.0, {"i": s}) for s in sites]
        else:
            jobs = [(1.0, {})]
        for scale, bindings in jobs:
            try:
                term = coef * scale * ops.parse_operator(text, space.site_kind, bindings)
            except OperatorError as e:
                raise OperatorError(f"{t.where} op: {e}") from None
            H += term.plus_hc() if add_hc else term
    return H


def model_from_table(t: Table, lattice):
    """Read ``[model]``: a :class:`~fockmpi.models.named.Model` (``space, H = model`` unpacks it).
    ``lattice`` is None for the models that define their own sites (OWN_SITES).  Not collective."""
    kind = t.get("type", "str", choices=MODEL_TYPES)
    kwargs = {key: t.get(key, "float", default) for key, default in _KEYS["heisenberg" if kind == "xxz" else kind]}
    if kind in ("schwinger", "schwinger_spins", "schwinger_ring"):
        kwargs["N"] = t.get("N", "int", check=(lambda v: v >= 2 and v % 2 == 0, "an even number >= 2"))
        charges = t.get("static_charges", "list", None)
        if charges is not None:
            if len(charges) != kwargs["N"] or not all(isinstance(q, int) and not isinstance(q, bool) for q in charges):
                raise ConfigError(t.key("static_charges"), f"{kwargs['N']} integers (one per site)", charges)
            kwargs["static_charges"] = charges
    if kind == "fcidump":
        import os
        path = t.get("file", "str")
        if not os.path.isabs(path) and getattr(t, "base_dir", None):
            path = os.path.join(t.base_dir, path)
        kwargs["path"] = path
        if "orbital_irrep" in t:
            kwargs["orbital_irrep"] = t.get("orbital_irrep", "int", check=(lambda v: 1 <= v <= 8, "an irrep 1 .. 8"))
    if kind == "schwinger":
        kwargs["boundary"] = t.get("boundary", "str", "open", choices=("open", "periodic"))
        if ("Lambda" in t) == ("link_spin" in t):
            raise ConfigError("[model]", message="[model]: a schwinger model needs Lambda (the field cutoff, links "
                              "E = -Lambda .. Lambda) or link_spin (quantum links of spin S), one of the two")
        if "Lambda" in t:
            kwargs["Lambda"] = t.get("Lambda", "int", check=_LAMBDA_RANGE)
        else:
            kwargs["link_spin"] = spin_from_table(t, "link_spin")
    if kind == "schwinger_ring":
        if "Lambda" not in t:
            raise ConfigError("[model]", message="[model]: a schwinger_ring model needs Lambda (the cutoff of the "
                              "ring's zero mode E_N-1 = -Lambda .. Lambda; 3 is converged to 1e-8 in M/g at "
                              "x <= 100, N <= 20)")
        kwargs["Lambda"] = t.get("Lambda", "int", check=_LAMBDA_RANGE)
    if kind in ("bose_hubbard", "holstein", "hubbard_holstein") or kind in OWN_SITES[:4]:
        kwargs["nmax"] = t.get("nmax", "int", check=_NMAX_RANGE)
    if kind in ("tavis_cummings", "dicke"):
        collective = t.get("collective", "bool", False)
        kwargs["N"] = t.get("N", "int", check=(lambda v: 1 <= v <= (100 if collective else 56),
                                              "between 1 and 100 (collective) or 56 (explicit spins)"))
        kwargs["collective"] = collective
    mixed = kind == "custom" and "sites" in t
    if mixed and "site" in t:
        raise ConfigError(t.key("site"), message="[model]: give 'site' (one kind for every site) or "
                          "[[model.sites]] (the kind of each site), not both")
    if kind == "custom" and not mixed:
        kwargs["site"] = t.get("site", "str", choices=SITE_KINDS)
        if kwargs["site"] == "boson":
            kwargs["nmax"] = t.get("nmax", "int", check=_NMAX_RANGE)
        if kwargs["site"] == "link":
            kwargs["Lambda"] = t.get("Lambda", "int", check=_LAMBDA_RANGE)
    if (kind in ("heisenberg", "xxz") or kwargs.get("site") == "spin") and "S" in t:
        kwargs["S"] = spin_from_table(t, "S")
    if mixed:
        model = Model("custom", lattice, mixed_space(t.get("sites", "list"), lattice), ops.Operator())
    elif kind in OWN_SITES:
        model = _BUILDERS[kind](**kwargs)
    else:
        model = _BUILDERS[kind](lattice, **kwargs)
    model = model + extra_terms(t.get("term", "list", []), model.lattice, model.space)
    model.name = kind
    t.finish()
    if not model.hamiltonian.terms:
        raise ConfigError("[model]", message="[model]: the Hamiltonian is zero (all couplings vanish "
                          "and no [[model.term]] is given)")
    return model
