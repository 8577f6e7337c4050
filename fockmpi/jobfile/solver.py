"""[solver] of a job file -> :class:`~fockmpi.solvers.eigen.SolverSettings`.

``[solver]`` keys (defaults in brackets)::

    nev = 1                 # number of eigenpairs wanted [1]
    which = "smallest"      # smallest | largest | target
    target = 0.0            # with which = "target": eigenvalues closest to this
    transform = "shift"     # shift | sinvert (shift-and-invert around target; needs a direct solver)
    tol = 1e-8              # relative residual ||Hx - Ex|| / |E| (SLEPc's default); the
                            # eigenvalue error is about (tol |E|)^2 / gap, far smaller
    method = "auto"         # krylovschur | lanczos | lobpcg | jd | davidson (diagonal preconditioner,
                            # the full-CI method) | auto: davidson for FCIDUMP models, else krylovschur
    ncv = 0                 # subspace size (0: 12 for nev = 1, else max(2 nev + 1, nev + 16);
                            # smaller when that does not fit in the memory left)
    mpd = 0                 # maximum projected dimension (0: default)
    max_it = 0              # maximum restarts (0: default)
    complete_multiplets = "auto" # true: return the whole degenerate multiplet at the cut, verified
                                 # by a solve from a new random vector with the found levels moved
                                 # aside (about one more ground-state solve); false skips it;
                                 # "auto": true when nev > 1 (the lowest level alone is exact
                                 # without it; its multiplicity is then not known)
    storage = "auto"        # aij: stored matrix | upper: its upper triangle only (half the
                            # memory; fockmpi.operator.upper) |
                            # shell: matrix-free, H applied on the fly in
                            # every product (no matrix in memory, each product costs about one
                            # assembly) | auto: the first of aij, upper, shell that fits in
                            # memory (fockmpi.app.plan; upper first on a symmetry sector
                            # whose ranks share one node: half the assembly);
                            # FCIDUMP models: direct, the direct-CI operator (integrals by
                            # blocks, matrix-free), which "auto" picks for them
    balance = "nnz"         # where the basis is cut between ranks: nnz (as even a share of
                            # the product's non-zeros as allowed with at most 1.1x the mean
                            # states per rank; fockmpi.operator.balance) | states (even states)
    options = {}            # extra PETSc/SLEPc options, e.g. {eps_lanczos_reorthog = "local"}

Options given in ``options`` (or on the command line as ``-eps_...``) are applied last, so they
win over the keys above.  Sectors of dimension at most ``DENSE_LIMIT`` are solved densely.
"""
from ..errors import ConfigError
from ..solvers.eigen import METHODS, STORAGE, WHICH, SolverSettings
from .table import Table


def settings_from_table(t: Table):
    """Read ``[solver]``.  Not collective."""
    big = 2 ** 31 - 1  # PETSc's integers (32-bit builds)
    s = SolverSettings(
        nev=t.get("nev", "int", 1, check=(lambda v: 1 <= v <= big, f"between 1 and {big}")),
        which=t.get("which", "str", "smallest", choices=WHICH),
        target=t.get("target", "float", 0.0),
        transform=t.get("transform", "str", "shift", choices=("shift", "sinvert")),
        tol=t.get("tol", "float", 1e-8, check=(lambda v: 1e-16 <= v < 1, "between 1e-16 and 1 (a relative "
                                                "residual below 1e-16 is beyond double precision)")),
        method=t.get("method", "str", "auto", choices=METHODS),
        ncv=t.get("ncv", "int", 0, check=(lambda v: 0 <= v <= big, f"between 0 and {big}")),
        mpd=t.get("mpd", "int", 0, check=(lambda v: 0 <= v <= big, f"between 0 and {big}")),
        max_it=t.get("max_it", "int", 0, check=(lambda v: 0 <= v <= big, f"between 0 and {big}")),
        complete_multiplets=_true_false_auto(t, "complete_multiplets"),
        storage=t.get("storage", "str", "auto", choices=STORAGE),
        balance=t.get("balance", "str", "nnz", choices=("nnz", "states")),
        options=_petsc_options(t),
    )
    for key in ("target", "transform"):
        if key in t.data and s.which != "target":
            raise ConfigError(t.key(key), message=f"{t.key(key)} is only used with which = \"target\"",
                              hint=f"found which = \"{s.which}\"")
    if s.method == "lobpcg" and s.which == "target":
        # SLEPc's LOBPCG computes extreme eigenvalues only (and takes no spectral transform)
        raise ConfigError(t.key("method"), message=f"{t.key('method')} = \"lobpcg\" finds only the smallest or "
                          "largest eigenvalues, not those nearest a target",
                          hint="use method = \"krylovschur\" (with transform = \"sinvert\" for interior "
                               "levels) or \"jd\"")
    if s.method == "davidson" and s.which != "smallest":
        raise ConfigError(t.key("method"), message=f"{t.key('method')} = \"davidson\" finds the lowest levels only",
                          hint=f"found which = \"{s.which}\"; use method = \"krylovschur\"")
    t.finish()
    return s


def _true_false_auto(t, name):
    """A key that is true, false or "auto" (the default)."""
    t.used.add(name)
    value = t.data.get(name, "auto")
    if isinstance(value, bool) or value == "auto":
        return value
    raise ConfigError(t.key(name), "true, false or \"auto\"", value)


def _petsc_options(t):
    """``[solver] options`` as a table or a list of command-line words -> {name: value}."""
    raw = t.get("options", "table", {}) if isinstance(t.data.get("options", {}), dict) else t.get("options", "list")
    out = {}
    if isinstance(raw, dict):
        for k, v in raw.items():
            out[k.lstrip("-")] = "" if v is True else str(v).lower() if isinstance(v, bool) else str(v)
        return out
    items = [str(x) for x in raw]
    k = 0
    while k < len(items):
        if not items[k].startswith("-"):
            raise ConfigError(t.key("options"), "PETSc options such as \"-eps_view\"", items[k])
        key = items[k].lstrip("-")
        if k + 1 < len(items) and not items[k + 1].startswith("-"):
            out[key] = items[k + 1]
            k += 2
        else:
            out[key] = ""
            k += 1
    return out
