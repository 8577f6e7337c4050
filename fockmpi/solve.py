"""Eigenpairs with SLEPc: settings from ``[solver]``, complete degenerate multiplets, statistics.

``[solver]`` keys (defaults in brackets)::

    nev = 1                 # number of eigenpairs wanted [1]
    which = "smallest"      # smallest | largest | target
    target = 0.0            # with which = "target": eigenvalues closest to this
    transform = "shift"     # shift | sinvert (shift-and-invert around target; needs a direct solver)
    tol = 1e-8              # relative residual ||Hx - Ex|| / |E| (SLEPc's default); the
                            # eigenvalue error is about (tol |E|)^2 / gap, far smaller
    method = "krylovschur"  # krylovschur | lanczos | lobpcg | jd
    ncv = 0                 # subspace size (0: SLEPc's default)
    mpd = 0                 # maximum projected dimension (0: default)
    max_it = 0              # maximum restarts (0: default)
    complete_multiplets = true   # also return the partners of a degenerate level at the cut
    options = {}            # extra PETSc/SLEPc options, e.g. {eps_lanczos_reorthog = "local"}

Options given in ``options`` (or on the command line as ``-eps_...``) are applied last, so they
win over the keys above.  Sectors of dimension at most ``DENSE_LIMIT`` are solved densely.
"""
import time
from dataclasses import dataclass, field

import numpy as np

from .config import Table
from .errors import ConfigError, ConvergenceError, FockmpiError
from .parallel import print0

METHODS = ("krylovschur", "lanczos", "lobpcg", "jd")
WHICH = ("smallest", "largest", "target")
DENSE_LIMIT = 64


@dataclass
class SolverSettings:
    nev: int = 1
    which: str = "smallest"
    target: float = 0.0
    transform: str = "shift"
    tol: float = 1e-8
    method: str = "krylovschur"
    ncv: int = 0
    mpd: int = 0
    max_it: int = 0
    complete_multiplets: bool = True
    options: dict = field(default_factory=dict)


def settings_from_table(t: Table):
    """Read ``[solver]``.  Not collective."""
    s = SolverSettings(
        nev=t.get("nev", "int", 1, check=(lambda v: v >= 1, ">= 1")),
        which=t.get("which", "str", "smallest", choices=WHICH),
        target=t.get("target", "float", 0.0),
        transform=t.get("transform", "str", "shift", choices=("shift", "sinvert")),
        tol=t.get("tol", "float", 1e-8, check=(lambda v: 0 < v < 1, "between 0 and 1")),
        method=t.get("method", "str", "krylovschur", choices=METHODS),
        ncv=t.get("ncv", "int", 0, check=(lambda v: v >= 0, ">= 0")),
        mpd=t.get("mpd", "int", 0, check=(lambda v: v >= 0, ">= 0")),
        max_it=t.get("max_it", "int", 0, check=(lambda v: v >= 0, ">= 0")),
        complete_multiplets=t.get("complete_multiplets", "bool", True),
        options=_options(t),
    )
    if "target" in t.data and s.which != "target":
        raise ConfigError(t.key("target"), message=f"{t.key('target')} is only used with which = \"target\"",
                          hint=f"found which = \"{s.which}\"")
    t.finish()
    return s


def _options(t):
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


@dataclass
class Eigenpairs:
    """What the solver found.  ``vectors`` holds each eigenvector's local slice on this rank."""

    values: np.ndarray
    residuals: np.ndarray
    vectors: list
    iterations: int
    matvecs: int
    nconv: int
    method: str
    requested: int
    seconds: float = 0.0
    stats: dict = field(default_factory=dict)


def _matvec_count(PETSc):
    """(count, seconds) of MatMult so far on this rank; (-1, 0) without PETSc logging."""
    try:
        info = PETSc.Log.Event("MatMult").getPerfInfo()
        return int(info["count"]), float(info["time"])
    except Exception:  # noqa: BLE001 - logging not available in this build
        return -1, 0.0


def solve(op, settings, comm, PETSc, SLEPc, show_progress=True):
    """Lowest (or largest / nearest-target) eigenpairs of the hermitian matrix ``op.mat``.

    Collective.  With ``complete_multiplets`` the whole degenerate multiplet at the cut is
    returned (so possibly more than ``nev`` pairs); degeneracy means equal within
    ``max(1e3 tol, 1e-8) * max(1, |E|)``.  Raises :class:`ConvergenceError` naming the
    setting to change when fewer than ``nev`` pairs converge.
    """
    mat = op.mat
    dim = mat.getSize()[0]
    nev = min(settings.nev, dim)
    t0 = time.perf_counter()
    mv0, mt0 = _matvec_count(PETSc)
    # Krylov methods find the copies of a degenerate level late (from rounding), so a margin of
    # extra pairs is requested; the multiplet at the cut is then completed (see tests/mpi).
    # complete_multiplets = false skips the margin when speed matters more.
    extra = max(2, nev // 2) if settings.complete_multiplets else 0
    while True:
        want = min(nev + extra, dim)
        eps, nconv = _run_eps(mat, want, settings, dim, comm, PETSc, SLEPc, show_progress)
        if nconv < nev:
            raise ConvergenceError(
                f"the eigensolver converged {nconv} of {nev} eigenpairs in {eps.getIterationNumber()} "
                f"iterations; raise [solver] max_it, ncv, or loosen tol (now {settings.tol:g})")
        values = np.array([eps.getEigenvalue(i).real for i in range(nconv)])
        order = np.argsort(values) if settings.which != "largest" else np.argsort(-values)
        if settings.which == "target":
            order = np.argsort(np.abs(values - settings.target), kind="stable")
        keep = nev
        if settings.complete_multiplets:
            gap = max(1e3 * settings.tol, 1e-8)
            edge = values[order[nev - 1]]
            while keep < nconv and abs(values[order[keep]] - edge) <= gap * max(1.0, abs(edge)):
                keep += 1
            if keep == nconv and nconv < dim and extra < dim:
                extra = 2 * extra + 2  # the multiplet may go on beyond what converged: ask for more
                eps.destroy()
                continue
        break
    idx = order[:keep]
    vr = mat.createVecRight()
    vi = mat.createVecRight()
    vectors, residuals = [], []
    for i in idx:
        eps.getEigenpair(int(i), vr, vi)
        residuals.append(eps.computeError(int(i), SLEPc.EPS.ErrorType.ABSOLUTE))
        vectors.append(vr.getArray().copy())
    its = eps.getIterationNumber()
    method = eps.getType()
    eps.destroy()
    vr.destroy()
    vi.destroy()
    mv1, mt1 = _matvec_count(PETSc)
    return Eigenpairs(values=values[idx], residuals=np.array(residuals), vectors=vectors,
                      iterations=its, matvecs=(mv1 - mv0) if mv0 >= 0 else -1, nconv=nconv,
                      method=method, requested=settings.nev, seconds=time.perf_counter() - t0,
                      stats={"matmult_seconds": comm.allreduce(mt1 - mt0, op=_max())})


def _max():
    from mpi4py import MPI
    return MPI.MAX


def _run_eps(mat, want, settings, dim, comm, PETSc, SLEPc, show_progress):
    eps = SLEPc.EPS().create(comm=comm)
    eps.setOperators(mat)
    eps.setProblemType(SLEPc.EPS.ProblemType.HEP)
    dense = dim <= max(DENSE_LIMIT, 2 * want + 8)
    if dense:
        eps.setType(SLEPc.EPS.Type.LAPACK)
    else:
        eps.setType({"krylovschur": SLEPc.EPS.Type.KRYLOVSCHUR, "lanczos": SLEPc.EPS.Type.LANCZOS,
                     "lobpcg": SLEPc.EPS.Type.LOBPCG, "jd": SLEPc.EPS.Type.JD}[settings.method])
    if not dense and settings.method == "lanczos":
        # SLEPc insists on a choice; full reorthogonalization is the safe one (override with
        # options = {eps_lanczos_reorthog = "partial"})
        eps.setLanczosReorthogType(SLEPc.EPS.LanczosReorthogType.FULL)
    if not dense and settings.method in ("lobpcg", "jd"):
        # preconditioned methods: PETSc's parallel default (block Jacobi + ILU) depends on the
        # rank count and fails for indefinite H; no preconditioner is the same on every rank
        # count (set a better one with options = {st_pc_type = ...})
        ksp = eps.getST().getKSP()
        if settings.method == "lobpcg":
            ksp.setType("preonly")
        ksp.getPC().setType("none")
    which = {"smallest": SLEPc.EPS.Which.SMALLEST_REAL, "largest": SLEPc.EPS.Which.LARGEST_REAL,
             "target": SLEPc.EPS.Which.TARGET_REAL}[settings.which]
    eps.setWhichEigenpairs(which)
    if settings.which == "target":
        eps.setTarget(settings.target)
        if settings.transform == "sinvert" and not dense:
            st = eps.getST()
            st.setType(SLEPc.ST.Type.SINVERT)
    # Subspace size: SLEPc's default (at least nev + 15).  A smaller one (max(2 nev, nev + 8))
    # was 1-2 s faster on the L=24 ring but then missed the second copy of a degenerate level
    # (make demo, nev = 4): the copies of a degenerate level only appear through rounding, and
    # a larger subspace gives them room.  See docs/benchmarks.md.
    ncv = min(max(settings.ncv, want + 1), dim) if settings.ncv else PETSc.DECIDE
    eps.setDimensions(nev=want, ncv=ncv, mpd=settings.mpd if settings.mpd else PETSc.DECIDE)
    eps.setTolerances(tol=settings.tol, max_it=settings.max_it if settings.max_it else PETSc.DECIDE)
    opts = PETSc.Options()
    for k, v in settings.options.items():
        opts.setValue(k, v)
    if show_progress and comm.rank == 0:
        state = {"last": time.perf_counter(), "t0": time.perf_counter()}

        def monitor(eps_, its, nconv, eig, err):
            now = time.perf_counter()
            if now - state["last"] >= 3.0:
                state["last"] = now
                e0 = eig[0].real if len(eig) else float("nan")
                print(f"  solve: iteration {its}, {nconv} converged, E0 ~ {e0:.12g}  "
                      f"({now - state['t0']:.1f} s)", flush=True)
        eps.setMonitor(monitor)
    try:
        eps.setFromOptions()
        eps.solve()
    except PETSc.Error as e:
        raise FockmpiError(f"SLEPc failed ({settings.method}): {e}; check [solver] and its options") from None
    return eps, eps.getConverged()


def describe(pairs, comm):
    """Print a one-line summary of the solve on rank 0."""
    print0(comm, f"  {len(pairs.values)} eigenpairs ({pairs.method}), {pairs.iterations} iterations, "
                 f"{pairs.matvecs} matvecs, {pairs.seconds:.2f} s")
