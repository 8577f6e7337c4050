"""Named Hamiltonians and user-written terms: ``[model]`` of a job file -> (Space, Operator).

Conventions (docs/conventions.md): hbar = 1, energies in the units of the couplings given,
spin operators S = sigma/2, bonds ``(i, j, J_ij)`` from the lattice with ``J_ij = 1`` on
built-in lattices (custom lattices give their own), sums over bonds count each listed bond
once.

=================  ========================================================================
type               Hamiltonian
=================  ========================================================================
heisenberg, xxz    J sum_<ij> J_ij [ (S+_i S-_j + S-_i S+_j)/2 + Delta Sz_i Sz_j ]
                   + J2 sum_<<ij>> (same with Delta) - h sum_i Sz_i
                   (defaults J = 1, Delta = 1, J2 = 0, h = 0; J > 0 antiferromagnetic)
tfim               -J sum_<ij> J_ij Sz_i Sz_j - h sum_i Sx_i   (critical at h = J/2 in 1D)
hubbard            -t sum_<ij>,s J_ij (cdag_is c_js + h.c.) + U sum_i n_i,up n_i,dn
                   - mu sum_i,s n_is
tV                 -t sum_<ij> J_ij (cdag_i c_j + h.c.) + V sum_<ij> J_ij n_i n_j - mu sum_i n_i
bose_hubbard       -t sum_<ij> J_ij (bdag_i b_j + h.c.) + U/2 sum_i n_i (n_i - 1) - mu sum_i n_i
                   (occupation cutoff ``nmax`` required)
custom             only the terms below; ``site`` = spin | fermion | electron | boson
=================  ========================================================================

Each type is a Python constructor too, with the same keywords (``hubbard(lattice, t=1, U=4)``,
``heisenberg(lattice, J=1, J2=0.5)``, ...); it returns a :class:`Model`, and ``model + operator``
adds terms written with :mod:`fockmpi.ops`.

Any model also takes ``[[model.term]]`` entries, added to its Hamiltonian::

    [[model.term]]
    coef = 0.5            # number or [re, im]; default 1
    op = "S+_i S-_j"      # operator string (see fockmpi.ops.parse_operator)
    bonds = "nn"          # optional: apply to every bond (i, j, J_ij) of a list, times J_ij
    sites = "all"         # optional: apply to every site i (or a list of sites)
    hc = true             # optional: add the hermitian conjugate
"""
from . import ops
from .config import Table
from .errors import ConfigError, OperatorError
from .space import SITE_KINDS, Space

MODEL_TYPES = ("heisenberg", "xxz", "tfim", "hubbard", "tV", "bose_hubbard", "custom")


def _bonds(lattice, name, where):
    return lattice.bond_list(name, where=where)


class Model:
    """A Hamiltonian on a lattice: the local spaces and the operator.  Not collective.

    Built by the constructors below (``heisenberg(lattice, J=1, Delta=0.5)``, ...) or from a
    job file's ``[model]``; ``space`` and ``hamiltonian`` are what the basis and the operator
    stages take.  ``Model + Operator`` adds terms.
    """

    def __init__(self, name, lattice, space, hamiltonian):
        self.name, self.lattice, self.space, self.hamiltonian = name, lattice, space, hamiltonian

    def __add__(self, other):
        if not isinstance(other, ops.Operator):
            return NotImplemented
        return Model(self.name, self.lattice, self.space, self.hamiltonian + other)

    def __iter__(self):  # space, H = model
        return iter((self.space, self.hamiltonian))

    def __repr__(self):
        return f"Model({self.name!r} on {self.lattice!r}, {len(self.hamiltonian.terms)} terms)"


def heisenberg(lattice, J=1.0, Delta=1.0, J2=0.0, h=0.0, bonds="nn", bonds2="nnn"):
    """``J sum_<ij> J_ij [(S+_i S-_j + S-_i S+_j)/2 + Delta Sz_i Sz_j] + J2 (same on bonds2)
    - h sum_i Sz_i`` on spin-1/2 sites (J > 0 antiferromagnetic; ``xxz`` is the same)."""
    H = ops.Operator()
    for coupling, name in ((J, bonds), (J2, bonds2)):
        if coupling == 0:
            continue
        for i, j, Jij in _bonds(lattice, name, "[model] bonds"):
            H += coupling * Jij * (0.5 * (ops.Sp(i) * ops.Sm(j) + ops.Sm(i) * ops.Sp(j))
                                   + Delta * ops.Sz(i) * ops.Sz(j))
    for i in range(lattice.nsites):
        if h:
            H += -h * ops.Sz(i)
    return Model("heisenberg", lattice, Space.uniform("spin", lattice.nsites), H)


def tfim(lattice, J=1.0, h=0.0, bonds="nn"):
    """``-J sum_<ij> J_ij Sz_i Sz_j - h sum_i Sx_i`` (critical at h = J/2 in 1D)."""
    H = ops.Operator()
    for i, j, Jij in _bonds(lattice, bonds, "[model] bonds"):
        H += -J * Jij * ops.Sz(i) * ops.Sz(j)
    for i in range(lattice.nsites):
        if h:
            H += -h * ops.Sx(i)
    return Model("tfim", lattice, Space.uniform("spin", lattice.nsites), H)


def hubbard(lattice, t=1.0, U=0.0, mu=0.0, bonds="nn"):
    """``-t sum_<ij>,s J_ij (cdag_is c_js + h.c.) + U sum_i n_i,up n_i,dn - mu sum_i,s n_is``."""
    H = ops.Operator()
    for i, j, Jij in _bonds(lattice, bonds, "[model] bonds"):
        for s in ("up", "dn"):
            H += (-t * Jij * ops.cdag(i, s) * ops.c(j, s)).plus_hc()
    for i in range(lattice.nsites):
        if U:
            H += U * ops.n(i, "up") * ops.n(i, "dn")
        if mu:
            H += -mu * (ops.n(i, "up") + ops.n(i, "dn"))
    return Model("hubbard", lattice, Space.uniform("electron", lattice.nsites), H)


def tV(lattice, t=1.0, V=0.0, mu=0.0, bonds="nn"):  # noqa: N802 - the model's name
    """``-t sum_<ij> J_ij (cdag_i c_j + h.c.) + V sum_<ij> J_ij n_i n_j - mu sum_i n_i``."""
    H = ops.Operator()
    for i, j, Jij in _bonds(lattice, bonds, "[model] bonds"):
        H += (-t * Jij * ops.cdag(i) * ops.c(j)).plus_hc()
        if V:
            H += V * Jij * ops.n(i) * ops.n(j)
    for i in range(lattice.nsites):
        if mu:
            H += -mu * ops.n(i)
    return Model("tV", lattice, Space.uniform("fermion", lattice.nsites), H)


def bose_hubbard(lattice, nmax, t=1.0, U=0.0, mu=0.0, bonds="nn"):
    """``-t sum_<ij> J_ij (bdag_i b_j + h.c.) + U/2 sum_i n_i (n_i - 1) - mu sum_i n_i`` with
    at most ``nmax`` bosons a site."""
    H = ops.Operator()
    for i, j, Jij in _bonds(lattice, bonds, "[model] bonds"):
        H += (-t * Jij * ops.bdag(i) * ops.b(j)).plus_hc()
    for i in range(lattice.nsites):
        ni = ops.nb(i)
        if U:
            H += 0.5 * U * ni * (ni - 1)
        if mu:
            H += -mu * ni
    return Model("bose_hubbard", lattice, Space.uniform("boson", lattice.nsites, nmax=nmax), H)


def custom(lattice, site, nmax=None):
    """No terms yet, on ``site`` = spin | fermion | electron | boson sites (add operators)."""
    return Model("custom", lattice, Space.uniform(site, lattice.nsites, nmax=nmax), ops.Operator())


# [model] keys of each type: (key, default); the values go to the constructor as keywords
_NMAX_RANGE = (lambda v: 1 <= v <= 255, "between 1 and 255")
_KEYS = {
    "heisenberg": (("J", 1.0), ("Delta", 1.0), ("J2", 0.0), ("h", 0.0)),
    "tfim": (("J", 1.0), ("h", 0.0)),
    "hubbard": (("t", 1.0), ("U", 0.0), ("mu", 0.0)),
    "tV": (("t", 1.0), ("V", 0.0), ("mu", 0.0)),
    "bose_hubbard": (("t", 1.0), ("U", 0.0), ("mu", 0.0)),
    "custom": (),
}
_BUILDERS = {"heisenberg": heisenberg, "xxz": heisenberg, "tfim": tfim, "hubbard": hubbard, "tV": tV,
             "bose_hubbard": bose_hubbard, "custom": custom}


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
    """Read ``[model]``: returns ``(space, operator)``.  Not collective."""
    kind = t.get("type", "str", choices=MODEL_TYPES)
    kwargs = {key: t.get(key, "float", default) for key, default in _KEYS["heisenberg" if kind == "xxz" else kind]}
    if kind == "bose_hubbard":
        kwargs["nmax"] = t.get("nmax", "int", check=_NMAX_RANGE)
    if kind == "custom":
        kwargs["site"] = t.get("site", "str", choices=SITE_KINDS)
        if kwargs["site"] == "boson":
            kwargs["nmax"] = t.get("nmax", "int", check=_NMAX_RANGE)
    space, H = _BUILDERS[kind](lattice, **kwargs)
    H += extra_terms(t.get("term", "list", []), lattice, space)
    t.finish()
    if not H.terms:
        raise ConfigError("[model]", message="[model]: the Hamiltonian is zero (all couplings vanish "
                          "and no [[model.term]] is given)")
    return space, H
