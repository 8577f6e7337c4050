"""Eigenpairs with SLEPc (or densely, for sectors of at most ``DENSE_LIMIT`` states): complete
degenerate multiplets, statistics.  The settings are a :class:`SolverSettings` (a job file's
``[solver]``: :mod:`fockmpi.jobfile.solver` lists its keys and defaults); PETSc/SLEPc options in
``options`` are applied last, so they win over the settings.
"""
import dataclasses
import time
from dataclasses import dataclass, field

import numpy as np

from ..errors import ConfigError, ConvergenceError, FockmpiError, did_you_mean
from ..parallel import print0, release_free_memory


METHODS = ("auto", "krylovschur", "lanczos", "lobpcg", "jd", "davidson")  # auto: davidson for the
# direct-CI operator of FCIDUMP models (a dominant diagonal), krylovschur otherwise

WHICH = ("smallest", "largest", "target")

STORAGE = ("auto", "aij", "upper", "shell", "direct")  # stored MPIAIJ, its upper triangle (half the
# memory), matrix-free shell, the first that fits, or the direct-CI operator of FCIDUMP models (what
# "auto" picks for them)

DENSE_LIMIT = 64


@dataclass
class SolverSettings:
    nev: int = 1
    which: str = "smallest"
    target: float = 0.0
    transform: str = "shift"
    tol: float = 1e-8
    method: str = "auto"
    ncv: int = 0
    mpd: int = 0
    max_it: int = 0
    complete_multiplets: object = "auto"  # True, False, or "auto": True when nev > 1
    storage: str = "auto"
    balance: str = "nnz"  # where the basis is cut between ranks: nnz | states (fockmpi.operator.balance)
    options: dict = field(default_factory=dict)




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
    vector_owners: list = field(default_factory=list, repr=False)  # the PETSc Vecs whose arrays ``vectors`` are


def matvec_count(PETSc):
    """(count, seconds) of MatMult so far on this rank; (-1, 0) without PETSc logging.  (PETSc
    logs a MatMult inside another, as in a shell that forwards its products, once.)"""
    try:
        info = PETSc.Log.Event("MatMult").getPerfInfo()
        return int(info["count"]), float(info["time"])
    except Exception:  # noqa: BLE001 - logging not available in this build
        return -1, 0.0


def solve(op, settings, comm, PETSc, SLEPc, show_progress=True, checkpoint=None):
    """Lowest (or largest / nearest-target) eigenpairs of the hermitian matrix ``op.mat``.

    Collective.  With ``complete_multiplets`` (``"auto"``: when ``nev`` > 1; the lowest level
    alone is exact without it) the whole degenerate multiplet at the cut is
    returned (so possibly more than ``nev`` pairs); degeneracy means equal within
    ``max(1e3 tol, 1e-8) * max(1, |E|)``.  Raises :class:`ConvergenceError` naming the
    setting to change when fewer than ``nev`` pairs converge.

    Why a check is needed: a Krylov space grown from one start vector v0 holds, of each
    degenerate eigenspace, only the direction of v0's projection on it; further copies appear
    only through rounding, often after the wanted pairs have converged.  So after the main solve
    the lowest level of the complement of everything found is computed (a solve, with the found
    levels moved aside, from a *new* random vector, which does have components along the
    missing copies).  If it lies at or
    below the cut, it is added (converged to ``tol``) and the check repeats; otherwise the result
    is complete.  The check costs about one more ground-state solve.

    ``checkpoint`` (a :class:`~fockmpi.solvers.checkpointing.SolveCheckpoint`): the main solve
    saves its best approximations when that says so, and starts from its ``start`` vectors.
    """
    mat = op.mat
    dim = mat.getSize()[0]
    nev = min(settings.nev, dim)
    complete = settings.complete_multiplets if isinstance(settings.complete_multiplets, bool) else settings.nev > 1
    if settings.method == "auto":
        settings = dataclasses.replace(settings, method="davidson" if getattr(op, "prefers_davidson", False)
                                       else "krylovschur")
    t0 = time.perf_counter()
    mv0, mt0 = matvec_count(PETSc)
    key = _ordering(settings)
    gap = max(1e3 * settings.tol, 1e-8)

    dense = dim <= max(DENSE_LIMIT, 2 * nev + 8)
    # block methods converge the top of their block last: two guard vectors for lobpcg and jd
    guard = 2 if settings.method in ("lobpcg", "jd") else 0
    want = dim if dense else min(nev + guard, dim)
    krylov = not dense and settings.method in ("krylovschur", "lanczos")
    if krylov and not settings.ncv:
        ncv = default_ncv(want)
        smaller = subspace_for_memory(want, ncv, mat.getLocalSize()[0], np.dtype(PETSc.ScalarType).itemsize, comm)
        if smaller is not None:
            settings = dataclasses.replace(settings, ncv=smaller)
            if show_progress:
                print0(comm, f"  solve: a subspace of {smaller} vectors instead of {ncv}, as only that many fit in "
                             "the memory left on this node (set [solver] ncv to choose)", flush=True)
    subspace = settings.ncv or (default_ncv(want) if krylov else 0)  # (0: the method's own choice)
    if settings.method == "davidson" and not dense:
        from .davidson import davidson
        start = checkpoint.start if checkpoint is not None else None
        found, its = davidson(mat, want, settings.tol, comm, settings.max_it, settings.ncv, show_progress,
                              start=start, checkpoint=checkpoint)
        nconv, method = len(found), "davidson"
    else:
        eps, nconv = _run_eps_checkpointed(mat, want, settings, dim, comm, PETSc, SLEPc, show_progress, key,
                                           None if dense else checkpoint)
        if nconv < nev:
            its = eps.getIterationNumber()
            eps.destroy()  # (now, not in PETSc's clean-up after Python's: see _run_eps)
            raise ConvergenceError(
                f"the eigensolver converged {nconv} of {nev} eigenpairs in {its} "
                f"iterations; raise [solver] max_it, ncv, or loosen tol (now {settings.tol:g})")
        found = _harvest(eps, nconv, mat)
        its = eps.getIterationNumber()
        method = eps.getType()
        eps.destroy()
        release_free_memory()
        found = _with_residuals(mat, found)
    release_free_memory()  # the Krylov basis just freed is reused by the check, not kept twice

    checks, t_check = 0, time.perf_counter()
    if complete and not dense:
        while dim - len(found) >= 3:  # (smaller complements are covered by the dense path)
            edge = _edge(found, nev, key)
            checks += 1
            if show_progress:
                print0(comm, f"  solve: check {checks} for a missed level at or below {edge:.12g} "
                             f"(found levels moved aside, new random start)", flush=True)
            pair = _lowest_of_complement(mat, found, settings, comm, PETSc, SLEPc, seed=checks,
                                         tol=_check_tol(settings.tol, gap), start=None)
            if pair is None:
                print0(comm, "  warning: the multiplet check did not converge; a degenerate copy of the "
                             "last level may be missing (raise [solver] max_it)", flush=True)
                break
            if key(pair[0]) > key(edge) + gap * max(1.0, abs(edge)):
                break
            # something at or below the cut was missed: converge it to the requested tolerance
            pair = _lowest_of_complement(mat, found, settings, comm, PETSc, SLEPc, seed=checks,
                                         tol=settings.tol, start=pair[1])
            if pair is None:
                raise ConvergenceError(
                    "a missed degenerate partner did not converge; raise [solver] max_it or loosen tol")
            found.append(pair)
    t_check = time.perf_counter() - t_check

    edge = _edge(found, nev, key)
    ranked = sorted(found, key=lambda p: key(p[0]))
    if complete:
        keep = [p for p in ranked if key(p[0]) <= key(edge) + gap * max(1.0, abs(edge))]
    else:
        keep = ranked[:nev]
    values = np.array([p[0] for p in keep])
    residuals = np.array([p[2] for p in keep])
    # the kept vectors' arrays are PETSc's own (no copy: one vector less at the peak); their Vecs
    # live as long as the result
    holders = [p[1] for p in keep]
    vectors = [v.getArray() for v in holders]
    for p in found:
        if not any(p[1] is v for v in holders):
            p[1].destroy()
    mv1, mt1 = matvec_count(PETSc)
    return Eigenpairs(values=values, residuals=residuals, vectors=vectors,
                      iterations=its, matvecs=(mv1 - mv0) if mv0 >= 0 else -1, nconv=nconv,
                      method=method, requested=settings.nev, seconds=time.perf_counter() - t0, vector_owners=holders,
                      stats={"matmult_seconds": comm.allreduce(mt1 - mt0, op=_max()),
                             "multiplet_checks": checks, "multiplets_verified": bool(complete),
                             "subspace": subspace,
                             "check_seconds": t_check if checks else 0.0})


def _ordering(settings):
    """Sort key that puts the wanted end of the spectrum first."""
    if settings.which == "largest":
        return lambda v: -v
    if settings.which == "target":
        return lambda v: abs(v - settings.target)
    return lambda v: v


def _edge(found, nev, key):
    """The ``nev``-th wanted eigenvalue among those found: the cut."""
    return sorted((p[0] for p in found), key=key)[nev - 1]


def _check_tol(tol, gap):
    """Tolerance of the check solve.  Only the eigenvalue matters there, and a Ritz value with
    residual r is off by about r^2 / (distance to the next level), so a residual well above
    ``tol`` still places it far more precisely than the degeneracy window ``gap``."""
    return max(tol, min(1e-5, 1e-2 * gap ** 0.5))


def _harvest(eps, n, mat):
    """(value, Vec) of the first ``n`` converged pairs of ``eps``."""
    out = []
    for i in range(n):
        v = mat.createVecRight()
        eps.getEigenvector(i, v)
        out.append((eps.getEigenvalue(i).real, v))
    return out


def _with_residuals(mat, pairs):
    """``(value, Vec, |H v - value v|)`` for each pair, with one work vector.  Called after the
    EPS is destroyed: SLEPc's own error estimate allocates two vectors more while the EPS still
    holds its subspace (the L = 24 ring, nev = 1: 49 MiB per rank above the solve's peak)."""
    r = mat.createVecLeft()
    out = []
    for value, v in pairs:
        mat.mult(v, r)
        r.axpy(-value, v)
        out.append((value, v, r.norm()))
    r.destroy()
    return out


class _MovedAside:
    """``H + sigma sum_i |v_i><v_i|`` for the eigenvectors ``v_i`` found so far (a PETSc shell
    matrix): their levels move by ``sigma`` past the cut, the complement keeps its levels.

    Used instead of SLEPc's deflation space, which doubles the memory of the Krylov basis
    while it inserts the constraints; this costs one dot product and one update per found
    vector and product."""

    def __init__(self, mat, vectors, sigma):
        self.mat, self.vectors, self.sigma = mat, vectors, sigma

    def mult(self, _, x, y):
        self.mat.mult(x, y)
        for v in self.vectors:
            y.axpy(self.sigma * x.dot(v), v)  # x.dot(v) = v^H x


def _lowest_of_complement(mat, found, settings, comm, PETSc, SLEPc, seed, tol, start):
    """The wanted-most eigenpair orthogonal to every vector in ``found`` (Krylov-Schur from
    ``start`` or from a random vector drawn with ``seed``, which differs from SLEPc's own start
    vector), or a pair beyond the cut when there is none at or below it.  None when it does not
    converge.

    For ``which = "smallest"``/``"largest"`` the found levels are moved aside by a shift past
    the cut (:class:`_MovedAside`); around a target, where the operator may be factorized,
    SLEPc's deflation space keeps them out.
    """
    dim = mat.getSize()[0]
    eps = SLEPc.EPS().create(comm=comm)
    op, shell = mat, None
    values = [p[0] for p in found]
    if settings.which in ("smallest", "largest"):
        span = max(values) - min(values)
        margin = max(1.0, 0.1 * max(abs(v) for v in values))
        sigma = span + margin if settings.which == "smallest" else -(span + margin)
        n, N = mat.getLocalSize()[0], dim
        shell = PETSc.Mat().createPython([(n, N), (n, N)], context=_MovedAside(mat, [p[1] for p in found], sigma),
                                         comm=comm)
        shell.setUp()
        op = shell
    eps.setOperators(op)
    eps.setProblemType(SLEPc.EPS.ProblemType.HEP)
    _apply_which(eps, settings, SLEPc, dense=False)
    _set_from_options(eps, settings.options, PETSc)  # options for the transform (st_ksp_type, ...) apply here too
    # ... but the check is always a one-vector Krylov-Schur solve to its own tolerance
    eps.setType(SLEPc.EPS.Type.KRYLOVSCHUR)
    eps.setDimensions(nev=1, ncv=min(12, dim - len(found)))
    eps.setTolerances(tol=tol, max_it=settings.max_it if settings.max_it else PETSc.DECIDE)
    if shell is None:
        eps.setDeflationSpace([p[1] for p in found])
    if start is None:
        start = mat.createVecRight()
        rng = PETSc.Random().create(comm=comm)
        rng.setSeed(0x5EED + 7919 * seed)
        start.setRandom(rng)
        rng.destroy()
    eps.setInitialSpace([start])
    try:
        eps.solve()
    except PETSc.Error as e:
        raise FockmpiError(f"SLEPc failed in the multiplet check: {e}; check [solver] and its options") from None
    harvested = _harvest(eps, 1, op) if eps.getConverged() >= 1 else []
    eps.destroy()
    if shell is not None:
        shell.destroy()
    release_free_memory()
    # residual with H itself, not with the shifted operator
    return _with_residuals(mat, harvested)[0] if harvested else None


def _max():
    from mpi4py import MPI
    return MPI.MAX


def _apply_which(eps, settings, SLEPc, dense):
    which = {"smallest": SLEPc.EPS.Which.SMALLEST_REAL, "largest": SLEPc.EPS.Which.LARGEST_REAL,
             "target": SLEPc.EPS.Which.TARGET_REAL}[settings.which]
    eps.setWhichEigenpairs(which)
    if settings.which == "target":
        eps.setTarget(settings.target)
        if settings.transform == "sinvert" and not dense:
            eps.getST().setType(SLEPc.ST.Type.SINVERT)


# SLEPc options worth suggesting for a misspelled one (the [solver] keys set most of them)
KNOWN_OPTIONS = ("eps_type", "eps_nev", "eps_ncv", "eps_mpd", "eps_tol", "eps_max_it", "eps_target",
                 "eps_view", "eps_view_values", "eps_view_vectors", "eps_monitor", "eps_monitor_all",
                 "eps_monitor_conv", "eps_conv_abs", "eps_conv_rel", "eps_conv_norm", "eps_true_residual",
                 "eps_krylovschur_restart", "eps_krylovschur_locking", "eps_lanczos_reorthog",
                 "eps_lobpcg_blocksize", "eps_lobpcg_restart", "eps_lobpcg_locking", "eps_jd_krylov_start",
                 "eps_jd_blocksize", "eps_jd_initial_size", "eps_jd_fix", "eps_balance", "eps_purify",
                 "st_type", "st_shift", "st_ksp_type", "st_pc_type", "st_ksp_rtol", "st_ksp_max_it",
                 "st_pc_factor_mat_solver_type", "st_matmode")


_AT_SOLVE_END = ("view", "log_", "info", "malloc", "options_")  # read after setFromOptions, or at exit


def check_options(settings, PETSc, SLEPc):
    """Try ``[solver] options`` (and those after ``--``) on a small eigenproblem before any
    work: a value SLEPc rejects (``eps_type = "notasolver"``) or a name nobody reads
    (``eps_nevv``) is a :class:`ConfigError` naming it.  Not collective (a COMM_SELF probe;
    every rank decides alike)."""
    # options read only at the end of a solve or at exit (views, logs) are not tried: the
    # probe would print its own matrix
    options = {k: v for k, v in settings.options.items() if not any(w in k for w in _AT_SOLVE_END)}
    if not options:
        return
    failed, unused = _probe(settings, options, PETSc, SLEPc)
    if failed is not None:
        culprits = [k for k in options if _probe(settings, {k: options[k]}, PETSc, SLEPc)[0] is not None]
        named = ", ".join(f"{k} = {options[k]!r}" for k in (culprits or options))
        raise ConfigError("[solver] options", message=f"[solver] options: SLEPc/PETSc rejected {named} "
                          f"({failed})", hint="check the value against the SLEPc manual, e.g. eps_type is one "
                          "of krylovschur, lanczos, lobpcg, jd, gd, arnoldi, power, subspace, lapack")
    if unused:
        hints = [f"{k} is an option of another solver than {settings.method}" if k in KNOWN_OPTIONS else f"{k}: {m}"
                 for k in unused for m in [did_you_mean(k, KNOWN_OPTIONS)] if m]
        raise ConfigError("[solver] options", message=f"[solver] options: PETSc/SLEPc does not use "
                          f"{', '.join(unused)} (misspelled, or not an option of this solver)",
                          hint="; ".join(hints) or "the SLEPc manual lists the options of each solver; "
                          "-eps_view shows those in effect")


def _probe(settings, options, PETSc, SLEPc):
    """Apply ``options`` to a 16x16 problem set up like the real one.  Returns the error text
    (None if accepted) and the option names that nobody read."""
    n = 16
    A = PETSc.Mat().createAIJ([n, n], nnz=1, comm=PETSc.COMM_SELF)
    for i in range(n):
        A[i, i] = float(i)
    A.assemble()
    eps = SLEPc.EPS().create(comm=PETSc.COMM_SELF)
    eps.setOperators(A)
    eps.setProblemType(SLEPc.EPS.ProblemType.HEP)
    eps.setType(_EPS_TYPES[settings.method](SLEPc))
    _apply_which(eps, settings, SLEPc, dense=False)
    error, unused = None, []
    PETSc.Sys.pushErrorHandler("ignore")  # the error is reported here, not as a PETSc trace
    try:
        unused = _set_from_options(eps, options, PETSc)
    except PETSc.Error as e:
        error = _petsc_error_text(e)
    finally:
        PETSc.Sys.popErrorHandler()
        eps.destroy()
        A.destroy()
    return error, unused


def _petsc_options_used(PETSc):
    """The C function ``PetscOptionsUsed`` of the loaded PETSc (petsc4py does not wrap it), or
    None where it cannot be found (then unused options go unreported)."""
    import ctypes
    try:
        function = ctypes.CDLL(PETSc.__file__).PetscOptionsUsed
    except (OSError, AttributeError):
        return None
    function.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_int)]
    return function


def _petsc_error_text(e):
    codes = {86: "unknown type: misspelled, or not built into this SLEPc/PETSc",
             62: "invalid argument", 63: "argument out of range", 56: "not supported", 73: "wrong state"}
    code = getattr(e, "ierr", None)
    return codes.get(code, f"PETSc error {code}")


_EPS_TYPES = {"krylovschur": lambda S: S.EPS.Type.KRYLOVSCHUR, "lanczos": lambda S: S.EPS.Type.LANCZOS,
              "lobpcg": lambda S: S.EPS.Type.LOBPCG, "jd": lambda S: S.EPS.Type.JD,
              # (options are probed, and the dense path set up, on Krylov-Schur for these two)
              "auto": lambda S: S.EPS.Type.KRYLOVSCHUR, "davidson": lambda S: S.EPS.Type.KRYLOVSCHUR}


def _set_from_options(eps, options, PETSc):
    """Apply ``options`` (a dict, usually ``settings.options``) to ``eps`` and take them out of
    PETSc's global options again, so that they do not leak into the next solve of this process
    (notebooks, tests).  Returns the names that nothing read (PETSc's own record)."""
    import ctypes
    opts = PETSc.Options()
    for k, v in options.items():
        opts.setValue(k, v)
    unused = []
    try:
        eps.setFromOptions()
    finally:
        used_flag = _petsc_options_used(PETSc)
        for k in options:
            flag = ctypes.c_int(0)
            if used_flag is not None and used_flag(None, k.encode(), ctypes.byref(flag)) == 0 and not flag.value:
                unused.append(k)
            opts.delValue(k)
    return unused


def default_ncv(nev):
    """Subspace size used when ``[solver] ncv`` is 0: nev + 11 for the ground state alone,
    max(2 nev + 1, nev + 16) for more levels.

    Measured against ARPACK (scipy eigsh, its subspace max(2 nev + 1, 20)) on the same matrices
    at tol 1e-10 (scaling/bench_solver.py, docs/benchmarks.md): with nev = 1, 12 vectors take
    0.96-1.21x ARPACK's products and the least time (orthogonalizing against a larger subspace
    costs more than the products it saves); with nev = 4, 15 vectors took 1.35x ARPACK's
    products on the 4x4 Hubbard model (close levels restart a small subspace again and again),
    20 take 0.86-1.06x on every case, at most 18% more time where products are cheap."""
    return nev + 11 if nev == 1 else max(2 * nev + 1, nev + 16)


# vectors of the local size a Krylov-Schur solve holds besides its subspace: SLEPc's work
# vectors (~2.5, measured: ncv + 2.5 in all on the L = 24 ring), and per pair the harvested
# eigenvector and the work of its residual (2 nev, counted apart)
EXTRA_VECTORS = 3


def subspace_for_memory(nev, ncv, local_rows, scalar_bytes, comm, available_per_rank=None):
    """The subspace size to use instead of ``ncv`` when its vectors do not fit in the memory
    left on this node now, or None to keep it.  Collective (every rank gets the same answer).

    The subspace shrinks to what fits in 90% of the available memory, down to ``nev + 3``
    (Krylov-Schur then restarts more often: on the L = 24 ring, ncv = 8 costs 7% more time than
    12, ncv = 6 30%); below that it is left alone and the run may fail for memory."""
    from mpi4py import MPI
    from ..parallel import available_memory_bytes, ranks_on_this_node
    if available_per_rank is None:
        node = available_memory_bytes()
        available_per_rank = None if node is None else node / ranks_on_this_node(comm)
    flag = -1.0 if available_per_rank is None else float(available_per_rank)
    available_per_rank = comm.allreduce(flag, op=MPI.MIN)
    if available_per_rank < 0:
        return None
    vector = comm.allreduce(local_rows, op=MPI.MAX) * scalar_bytes
    fits = int(0.9 * available_per_rank / max(1, vector)) - EXTRA_VECTORS - 2 * nev - 1
    if ncv <= fits or fits < nev + 3:
        return None
    return fits


def _run_eps_checkpointed(mat, want, settings, dim, comm, PETSc, SLEPc, show_progress, key, checkpoint):
    """:func:`_run_eps` with ``checkpoint``: when it is due, the Ritz pairs on SLEPc's current
    search space (its basis, read between two iterations) are saved and the solve goes on; when
    a stop was requested the save raises instead.  A resumed solve starts from the saved vectors."""
    if checkpoint is None:
        return _run_eps(mat, want, settings, dim, comm, PETSc, SLEPc, show_progress)
    from .checkpointing import rayleigh_ritz

    def save(eps, its):
        t0 = time.perf_counter()
        bv = eps.getBV()
        ncols = bv.getSizes()[1]
        columns = None
        for j in range(ncols):
            v = bv.getColumn(j)
            a = v.getArray(readonly=True)
            if columns is None:
                columns = np.empty((ncols, len(a)), dtype=a.dtype)
            columns[j] = a
            bv.restoreColumn(j, v)
        values, vectors, residuals = rayleigh_ritz(mat, columns, want, comm, key)
        del columns
        if show_progress:
            print0(comm, f"  solve: checkpoint after {its} iterations, E0 ~ {values[0]:.12g}, "
                         f"|r0| = {residuals[0]:.2e} (Rayleigh-Ritz on {ncols} vectors: "
                         f"{time.perf_counter() - t0:.2f} s)", flush=True)
        checkpoint.save(vectors, values, residuals, its)
    return _run_eps(mat, want, settings, dim, comm, PETSc, SLEPc, show_progress, checkpoint.start, save,
                    checkpoint.due)


class _Forwarded:
    """A stored matrix seen through a Python shell (:func:`~fockmpi.operator.hermitian_shell.hermitian_shell`).

    Python signal handlers (Ctrl-C, mpirun's and Slurm's SIGTERM: :class:`~fockmpi.parallel.RunGuard`)
    run only when Python code does; inside SLEPc that is the monitor, once per iteration of tens
    of products, while mpirun kills one second after its SIGTERM.  Through the shell Python runs
    at every product, so the run answers a signal within one product (0.5 us per product)."""

    def __init__(self, mat):
        self.mat = mat

    def mult(self, x, y):
        self.mat.mult(x, y)

    def diagonal(self):
        d = self.mat.getDiagonal()
        out = d.getArray().copy()
        d.destroy()
        return out


def _responsive(mat, settings, dense, PETSc, comm):
    """``mat`` itself, or a shell around it (:class:`_Forwarded`) where the eigensolver needs
    nothing but products (a stored matrix, Krylov-Schur or Lanczos, no spectral transform)."""
    if (dense or mat.getType() == PETSc.Mat.Type.PYTHON or settings.method not in ("krylovschur", "lanczos")
            or settings.transform == "sinvert" or any(k.startswith("st_") for k in (settings.options or {}))):
        return mat
    from ..operator.hermitian_shell import hermitian_shell
    return hermitian_shell(_Forwarded(mat), mat.getLocalSize()[0], mat.getSize()[0], comm, PETSc)


def _run_eps(mat, want, settings, dim, comm, PETSc, SLEPc, show_progress, start=None, save=None, due=None):
    eps = SLEPc.EPS().create(comm=comm)
    dense = dim <= max(DENSE_LIMIT, 2 * want + 8)
    eps.setOperators(_responsive(mat, settings, dense, PETSc, comm))
    eps.setProblemType(SLEPc.EPS.ProblemType.HEP)
    if dense:
        eps.setType(SLEPc.EPS.Type.LAPACK)
    else:
        eps.setType(_EPS_TYPES[settings.method](SLEPc))
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
    _apply_which(eps, settings, SLEPc, dense)
    # Subspace size: default_ncv (its docstring has the measurements: orthogonalizing against
    # the subspace costs as much as the products, and too small a subspace restarts too often).
    # Complete multiplets do not depend on it: the check after the solve finds missed copies.
    # (lobpcg and jd keep SLEPc's own default: their subspaces mean something else)
    if settings.ncv:
        ncv = min(max(settings.ncv, want + 1), dim)
    elif settings.method in ("krylovschur", "lanczos") and not dense:
        ncv = min(default_ncv(want), dim)
    else:
        ncv = PETSc.DECIDE
    eps.setDimensions(nev=want, ncv=ncv, mpd=settings.mpd if settings.mpd else PETSc.DECIDE)
    eps.setTolerances(tol=settings.tol, max_it=settings.max_it if settings.max_it else PETSc.DECIDE)
    # a monitor on every rank, even a silent one: Python signal handlers (Ctrl-C, Slurm's
    # SIGTERM: parallel.RunGuard) run only when Python code does, so each iteration gives
    # them a chance instead of none until the whole solve is over
    state = {"last": time.perf_counter(), "t0": time.perf_counter()}
    talk = show_progress and comm.rank == 0

    def monitor(eps_, its, nconv, eig, err):
        if talk:
            now = time.perf_counter()
            if now - state["last"] >= 3.0:
                state["last"] = now
                e0 = eig[0].real if len(eig) else float("nan")
                print(f"  solve: iteration {its}, {nconv} converged, E0 ~ {e0:.12g}  "
                      f"({now - state['t0']:.1f} s)", flush=True)
    eps.setMonitor(monitor)
    failure = []
    if save is not None:
        Reason = SLEPc.EPS.ConvergedReason

        def stopping(eps_, its, max_it, nconv, nev):  # SLEPc's basic test, and the checkpoint's
            if nconv >= nev:
                return Reason.CONVERGED_TOL
            if its >= max_it:
                return Reason.DIVERGED_ITS
            if due():
                try:  # (an exception cannot pass through SLEPc: keep it, stop, raise it after)
                    save(eps_, its)
                except BaseException as e:  # noqa: BLE001 - re-raised below
                    failure.append(e)
                    return Reason.CONVERGED_USER
            return Reason.CONVERGED_ITERATING
        eps.setStoppingTest(stopping)
    if start is not None and len(start):
        # Krylov-Schur iterates from one vector: the sum of the saved ones spans all of them
        v0 = mat.createVecRight()
        v0.getArray()[:] = np.sum(start, axis=0)
        eps.setInitialSpace([v0])
        v0.destroy()
    try:
        _set_from_options(eps, settings.options, PETSc)
        eps.solve()
    except PETSc.Error as e:
        raise FockmpiError(f"SLEPc failed ({settings.method}): {e}; check [solver] and its options") from None
    if failure:  # a stop after a checkpoint, or a checkpoint that could not be written
        # the traceback's frames hold more references to the EPS (the stopping test's argument):
        # drop them, so that it ends here and not in PETSc's clean-up after Python's, where a
        # Python shell matrix inside it can no longer be destroyed
        import traceback
        traceback.clear_frames(failure[0].__traceback__)
        eps.destroy()
        raise failure[0]
    return eps, eps.getConverged()
