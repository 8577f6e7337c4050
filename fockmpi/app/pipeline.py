"""The one straight line: job -> model -> basis -> distributed operator -> solver -> HDF5.

This is the only module that imports every stage.  :func:`run_job` is what ``fockmpi run``
does; :func:`describe_job` is ``fockmpi info``.
"""
import datetime
import os
import socket
import subprocess
import time
from dataclasses import dataclass

import numpy as np

from .. import __version__, runtime
from ..basis.make import make_basis
from ..errors import CapacityError, ConfigError, SectorError
from ..jobfile.spec import read_job
from ..observables import LocalDistribution

from ..parallel import (
    PhaseTimer,
    available_memory_bytes,
    collective_errors,
    file_backed_bytes,
    peak_memory_bytes,
    print0,
    ranks_on_this_node,
)
from ..symmetry.group import sector_values
from .dynamics import (check_evolution, check_spectra, evolution_checkpoint, evolution_summary, run_evolution,
                       run_spectra)
from .solve import build_operator, compile_model, sector_groups


@dataclass
class Problem:
    """Everything a job file defines, checked, before any MPI or PETSc work."""

    job: object           # the Job (its text and path go into the results file)
    model_name: str
    lattice: object
    space: object
    hamiltonian: object
    sector: object
    compiled: object
    solver: object
    output_path: str
    write_vectors: bool
    group: object = None  # SymmetryGroup of the lattice-symmetry sector, or None
    groups: list = None   # every sector of a job with "all" (then group is None)
    gauss: object = None  # the model's GaussLaw, when its basis is the physical states
    constraint: object = None  # the model's predicate on states (a Rydberg blockade), or None
    observables: dict = None  # name -> Operator reported for every root (the model's and [[observable]])
    orbitals: object = None  # an FCIDUMP model's integrals, for the direct-CI operator
    checkpoint: object = None  # CheckpointSettings ([checkpoint]: interval, path)
    definitions: dict = None  # name -> how [[observable]] defined it (stored with the values)
    spectra: list = None  # SpectrumRequest of every [[spectrum]] (dynamical correlations of the ground state)
    evolution: object = None  # EvolutionSettings of [evolution], or None
    quench: object = None  # the compiled Hamiltonian for t > 0 ([evolution.model]), or None

    def needs_solve(self):
        """False only for a time evolution from a product state that nothing else needs eigenvectors for."""
        return not (self.evolution is not None and self.evolution.initial != "ground" and not self.spectra)

    def sector_label(self):
        return self.sector.label() + (f",{self.group.label()}" if self.group else "")

    def sector_values(self):
        values = self.sector.physical_values()
        if self.group:
            values.update(sector_values(self.group.generators))
        return values

    def title(self):
        m = self.model_name
        lat = self.lattice
        shape = f" {lat.size} {'/'.join(sorted(set(lat.boundary)))}" if lat.size else f" ({lat.nsites} sites)"
        labels = {site.label() for site in self.space.sites}
        return f"{m} on {lat.kind}{shape}" + (f" ({self.space.describe()})" if len(labels) > 1 else "")


def build_problem(job, output_path=None):
    """Read and check every section of a job, and make the group of every symmetry sector it
    asks for.  Not collective (every rank does the same)."""
    spec = read_job(job, output_path)
    lattice, sector, choices = spec.lattice, spec.sector, spec.choices
    space, H = spec.model
    groups = sector_groups(lattice, space, H, sector, choices)
    group = groups[0] if len(choices) == 1 else None
    compiled = compile_model(spec.model, sector)
    if spec.solver.storage == "direct" and spec.model.orbitals is None:
        raise ConfigError("[solver] storage", "\"direct\" (the direct-CI operator) only with [model] type = \"fcidump\"",
                          f"a {spec.model.name} model", hint="use \"auto\", \"aij\" or \"shell\"")
    observables = dict(spec.model.observables or {})
    for name, (op, definition) in (spec.observables or {}).items():
        if name in observables:
            raise ConfigError("[[observable]] name", message=f"[[observable]] {name}: the {spec.model.name} model "
                              f"reports {name} itself; choose another name")
        if isinstance(op, LocalDistribution):
            if len(choices) != 1 or group is not None:
                raise ConfigError(f"[[observable]] {name}", message=f"[[observable]] {name}: a distribution is read "
                                  "from the amplitudes of the basis states, so it needs a sector without lattice "
                                  "symmetries (drop momentum, reflection, ... from [sector])")
        else:
            for one in (op.values() if isinstance(op, dict) else [op]):
                _check_keeps_sector(name, one, space, sector)
        observables[name] = op
    definitions = {name: d for name, (_, d) in (spec.observables or {}).items()}
    if definitions and len(choices) > 1:
        raise ConfigError("[[observable]]", message="[[observable]]: observables are measured in one sector at a "
                          f"time; this job asks for {len(choices)} ('all'): give the sector's labels, e.g. "
                          "momentum = 0")
    check_spectra(spec, sector, len(choices))
    quench = check_evolution(spec, sector, choices, group)
    return Problem(job, spec.model.name, lattice, space, H, sector, compiled, spec.solver, spec.output_path,
                   spec.write_vectors, group, groups if len(choices) > 1 else None, spec.model.gauss,
                   spec.model.constraint, observables or None, spec.model.orbitals, spec.checkpoint, definitions,
                   spec.spectra or None, spec.evolution, quench)


def _check_keeps_sector(name, op, space, sector):
    """An [[observable]] must keep the U(1) sector: a :class:`ConfigError` (before any basis is
    built) with :func:`fockmpi.observables.check_keeps_sector`'s reason otherwise."""
    from ..errors import ConfigError, SectorError
    from ..observables import check_keeps_sector
    try:
        check_keeps_sector(op, space, sector.names, name)
    except SectorError as e:
        raise ConfigError(f"[[observable]] {name}", message=f"[[observable]] {e}") from None


def capacity_problems(problem, ranks, ranks_on_node=None, force=False):
    """What makes a job impossible before anything is allocated, as a list of
    :class:`CapacityError` (empty: it may fit).  Not collective.

    The U(1) dimension is counted exactly from the ranking tables (milliseconds, no states);
    a symmetry sector has at least ``U(1) dimension / group order`` states.  That lower bound
    is held against the index width of the PETSc build and, when ``ranks_on_node`` is given,
    against this node's available memory: the basis states (8 bytes a state, 16 with
    symmetries), the solver's nev + 1 (or ncv) vectors, and the dense matrix of the dense
    fallback.  Lower bounds all: a job refused here cannot run.  Then, unless ``force``, the
    planner's estimate of the whole run (:func:`fockmpi.app.plan.fit_problem`: the stored matrix or
    the matrix-free operator as ``[solver] storage`` says) must fit as well.
    """
    from .plan import is_enumerated, upper_dimension
    out = []
    u1 = upper_dimension(problem)
    groups = [problem.group] if problem.groups is None else problem.groups
    order = min((g.order for g in groups if g is not None), default=1)
    # an enumerated basis (Gauss's law, a constraint, a parity) has no lower bound before it is
    # built; its index width is checked once it is
    lower = 1 if is_enumerated(problem) else -(-u1 // order)
    try:
        runtime.check_index_width(lower)
    except CapacityError as err:
        out.append(err if order == 1 else CapacityError(
            f"{err} (the symmetric sector has at least {lower} states: U(1) dimension {u1} / {order} "
            "symmetry operations)"))
    available = available_memory_bytes()
    if ranks_on_node and available:
        share = available / ranks_on_node
        need = (8 if order == 1 else 16) * lower / ranks
        if need > share:
            out.append(CapacityError(
                f"the sector {problem.sector_label()} has {'at least ' if order > 1 else ''}{lower} states: "
                f"the basis states alone need {need / 2**30:.3g} GiB per rank on {ranks} rank(s), but this "
                f"node has {available / 2**30:.3g} GiB available for {ranks_on_node} rank(s); use more "
                "nodes or fix more quantum numbers in [sector]"))
            return out
        # the solver keeps at least nev (and ncv) vectors; a sector that small next to nev is
        # solved densely, with the whole matrix on every rank
        from ..solvers.eigen import DENSE_LIMIT
        nev = min(problem.solver.nev, lower)
        real = problem.compiled.is_real and all(g is None or g.is_real for g in groups)
        scalar = 8 if real else 16
        vectors = max(nev + 1, min(problem.solver.ncv, lower)) * scalar * lower / ranks
        if problem.evolution is not None:  # the Krylov space of the propagator (complex)
            vectors = max(vectors, (problem.evolution.krylov_dim + 3) * 16.0 * lower / ranks)
        dense = float(scalar) * lower * lower if lower <= max(DENSE_LIMIT, 2 * nev + 8) else 0.0
        if need + vectors + dense > share:
            what = (f"a dense {lower} x {lower} matrix on every rank ({dense / 2**30:.3g} GiB), as nev = "
                    f"{problem.solver.nev} is close to the dimension" if dense else
                    f"{vectors / 2**30:.3g} GiB per rank for the time evolution's {problem.evolution.krylov_dim + 3} "
                    "vectors ([evolution] krylov_dim)" if problem.evolution is not None and vectors >
                    max(nev + 1, min(problem.solver.ncv, lower)) * scalar * lower / ranks else
                    f"{vectors / 2**30:.3g} GiB per rank for the solver's vectors (nev = {problem.solver.nev}, "
                    f"ncv = {problem.solver.ncv or 'default'})")
            out.append(CapacityError(
                f"[solver] nev = {problem.solver.nev} in a sector of {lower} states needs {what}, more than the "
                f"{share / 2**30:.3g} GiB available per rank on this node; ask for fewer levels"))
            return out
        if not force and problem.groups is None:
            from .plan import estimate, fit_problem
            est = estimate(problem, ranks)
            found = fit_problem(est, "direct" if est.direct_ci else problem.solver.storage, share)
            if found is not None:
                out.append(found)
    return out


def _provenance(comm, started):
    """Versions, commit, ranks, host, start and end time for the results file."""
    slurm = os.environ.get("SLURM_JOB_ID")
    if slurm and os.environ.get("SLURM_ARRAY_TASK_ID"):
        slurm = f"{os.environ.get('SLURM_ARRAY_JOB_ID')}_{os.environ['SLURM_ARRAY_TASK_ID']} ({slurm})"
    return dict({"fockmpi": __version__, "git_commit": _git_commit(), "ranks": comm.size,
                 "host": socket.gethostname(), "start": started, "slurm_job": slurm or "",
                 "end": datetime.datetime.now().astimezone().isoformat(timespec="seconds")},
                **{k: str(v) for k, v in runtime.versions().items()})


def _git_commit():
    here = os.path.dirname(os.path.abspath(__file__))
    try:
        out = subprocess.run(["git", "-C", here, "rev-parse", "HEAD"], check=False, capture_output=True, text=True, timeout=5)
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def run_job(job, comm, output_path=None, force=False, quiet=False, petsc_options=None, guard=None, resume=False):
    """Run a job end to end and write its results file.  Collective on ``comm``.

    ``guard`` (a :class:`~fockmpi.parallel.RunGuard`) learns the results file once it exists,
    so an interruption after that says so, and the checkpoint of the solve while it runs, so
    SIGTERM or SIGUSR1 then write a checkpoint and stop.  ``resume``: start the solve from the
    job's checkpoint when there is a valid one (a job over several sectors: sector by sector).

    Returns a dict with the eigenvalues, residuals, timings and the output path.
    """
    started = datetime.datetime.now().astimezone().isoformat(timespec="seconds")
    timer = PhaseTimer()
    with timer.phase("model"), collective_errors(comm):
        problem = build_problem(job, output_path)
    from ..io.results import prepare_path, write_results
    prepare_path(problem.output_path, force, comm, job_path=job.path)
    _check_checkpoint_path(problem, comm, resume, force)
    with collective_errors(comm):
        for problem_found in capacity_problems(problem, comm.size, ranks_on_this_node(comm), force=force):
            raise problem_found
    if problem.groups is not None:
        return run_all_sectors(problem, comm, timer, started, quiet, petsc_options, force, guard, resume)

    real = problem.compiled.is_real and (problem.group is None or problem.group.is_real) \
        and all(r.is_real for r in problem.spectra or []) and problem.evolution is None
    scalar = "real" if real else "complex"
    # PETSc starts (and the solver options are tried) before the basis is built, so that an
    # option SLEPc rejects costs a second, not the basis and the assembly
    PETSc, SLEPc = _start_petsc(scalar, 0, comm, problem, petsc_options)
    from ..solvers.eigen import matvec_count
    products_before = matvec_count(PETSc)  # (the log counts for the whole process: this run's are the rest)
    if problem.group is not None and not quiet:
        print0(comm, f"fockmpi {__version__} | {problem.title()} | sector {problem.sector_label()} | "
                     f"{problem.group.order} symmetry operations | {comm.size} rank{'s' if comm.size > 1 else ''}")
    with timer.phase("basis"), collective_errors(comm):
        stored, scan_seconds = _stored_basis(problem, comm, resume) if resume else (None, None)
        basis = make_basis(problem.sector, problem.group, comm, show_progress=not quiet, gauss=problem.gauss,
                           constraint=problem.constraint, orbitals=problem.orbitals, stored=stored)
    if stored is not None and not quiet:
        print0(comm, f"  basis: {basis.dim} representatives read from {problem.checkpoint.path} in "
                     f"{timer.seconds['basis']:.1f} s (their search took {scan_seconds:.1f} s)")
    with collective_errors(comm):  # (a symmetric sector: only its lower bound was known before)
        runtime.check_index_width(basis.dim)
    _check_disk(problem, basis.dim, scalar, comm)
    if not quiet and problem.group is None:
        print0(comm, f"fockmpi {__version__} | {problem.title()} | sector {problem.sector_label()} | "
               f"dim {basis.dim} | {comm.size} rank{'s' if comm.size > 1 else ''} | {scalar}")
    elif not quiet:
        print0(comm, f"  basis: {basis.dim} representatives of {basis.u1_dim} U(1) states "
                     f"({timer.seconds['basis']:.1f} s) | {scalar}")
    from ..solvers.eigen import solve
    with timer.phase("assembly"):
        op = build_operator(problem.compiled, problem.solver, basis, comm, PETSc, quiet, problem.orbitals)
    evolution_resume = evolution_checkpoint(problem, basis, comm, _identity(problem)) \
        if resume and problem.evolution else None
    if evolution_resume is not None:
        pairs = evolution_resume["pairs"]
        checkpoint = _Unused()
        if not quiet:
            print0(comm, f"  resume: the time evolution goes on from t = {problem.evolution.times[evolution_resume['step']]:g}"
                         f" ({problem.checkpoint.path})")
    elif problem.needs_solve():
        checkpoint = _solve_checkpoint(problem, basis, comm, resume, quiet,
                                       scan_seconds if stored is not None else timer.seconds["basis"], PETSc)
        if guard is not None:
            guard.checkpoint = checkpoint
        try:
            with timer.phase("solve"):
                pairs = solve(op, problem.solver, comm, PETSc, SLEPc, show_progress=not quiet, checkpoint=checkpoint)
        finally:
            if guard is not None:
                guard.checkpoint = None
    else:  # a product state evolves: no eigenvectors needed
        from ..solvers.eigen import Eigenpairs
        pairs = Eigenpairs(np.zeros(0), np.zeros(0), [], 0, 0, 0, "none", 0)
        checkpoint = _Unused()
    matrix_bytes = op.bytes_local
    from ..operator.traffic import traffic_record
    parallel = traffic_record(op, basis, comm, 8 if scalar == "real" else 16)
    count, seconds = matvec_count(PETSc)  # (this rank's products in this run: the solve's and the checks')
    if count >= 0 and products_before[0] >= 0:
        count, seconds = count - products_before[0], seconds - products_before[1]
    parallel.update(matmult_count=comm.allgather(count), matmult_seconds=comm.allgather(seconds))
    if problem.evolution is None or problem.quench is not None:
        op.destroy()
    observables = {}
    if problem.observables and len(pairs.vectors):  # what the model reports of every root (FCIDUMP: S2)
        from ..observables import measure_all
        observables = measure_all(problem.observables, problem.definitions, problem.lattice, problem.space,
                                  problem.sector.names, basis, pairs.vectors, comm, PETSc, problem.group)
    spectra = {}
    if problem.spectra:
        with timer.phase("spectra"):
            spectra = run_spectra(problem, basis, pairs, comm, PETSc, quiet)
    evolution = None
    if problem.evolution is not None:
        with timer.phase("evolution"):
            evolution = run_evolution(problem, basis, pairs, op if problem.quench is None else None, comm, PETSc,
                                      SLEPc, quiet, guard, evolution_resume, _identity(problem))
    t_output = time.perf_counter()

    def timings_now():  # collective; called by write_results just before the file is complete
        timer.seconds["output"] = time.perf_counter() - t_output
        return timer.summary(comm)

    record = {
        "job_text": job.text, "job_path": os.path.abspath(job.path),
        "sector_label": problem.sector_label(), "sector_values": problem.sector_values(),
        "dimension": basis.dim, "start": basis.start,
        "states": basis.packed_states(), "norms": basis.norms,
        "eigenvalues": pairs.values, "residuals": pairs.residuals,
        "vectors": pairs.vectors if problem.write_vectors else None,
        "observables": observables, "observable_definitions": problem.definitions or {},
        "spectra": spectra, "evolution": evolution, "parallel": parallel,
        "solver": {"method": pairs.method, "which": problem.solver.which, "tol": problem.solver.tol,
                   "nconv": pairs.nconv, "iterations": pairs.iterations, "matvecs": pairs.matvecs,
                   "requested": pairs.requested, "nnz": op.nnz_global, "scalar": scalar,
                   "storage": op.storage,
                   "matmult_seconds": pairs.stats.get("matmult_seconds", 0.0),
                   "multiplet_checks": pairs.stats.get("multiplet_checks", 0),
                   "multiplets_verified": pairs.stats.get("multiplets_verified", False),
                   "check_seconds": pairs.stats.get("check_seconds", 0.0),
                   "subspace": pairs.stats.get("subspace", 0),
                   "restarts": checkpoint.restarts, "checkpoints": checkpoint.saves,
                   "checkpoint_seconds": checkpoint.seconds},
        "memory": {"peak_rss_bytes": comm.allgather(peak_memory_bytes()),
                   "file_backed_bytes": comm.allgather(file_backed_bytes()),
                   "matrix_bytes": comm.allgather(matrix_bytes),
                   "basis_bytes": comm.allgather(basis.states.nbytes), **timer.memory_record(comm)},
    }
    record["timings"] = timings_now
    record["timings_per_rank"] = lambda: timer.per_rank(comm)  # (called right after timings_now)
    record["provenance"] = _provenance(comm, started)
    record["sweep"] = job.sweep.record() if job.sweep else None
    if not quiet:
        vectors = f", {len(pairs.values)} eigenvectors" if problem.write_vectors else ""
        print0(comm, f"  output: writing {problem.output_path} ({basis.dim} basis states{vectors})")
    problem.output_path = write_results(problem.output_path, comm, record, force)
    if guard is not None:
        guard.published = problem.output_path
    if comm.rank == 0 and os.path.exists(problem.checkpoint.path):
        os.remove(problem.checkpoint.path)  # the results are complete: the checkpoint has served
    timer.seconds["output"] = time.perf_counter() - t_output
    timings = timer.summary(comm)
    if not quiet:
        print_summary(comm, problem, basis, pairs, timings, record["memory"], observables)
        if comm.size > 1:
            print0(comm, "  " + traffic_summary(parallel))
        if evolution is not None:
            print0(comm, "  " + evolution_summary(evolution))
    return {"eigenvalues": pairs.values, "residuals": pairs.residuals, "timings": timings,
            "path": problem.output_path, "dimension": basis.dim, "pairs": pairs, "nnz": op.nnz_global,
            "observables": observables, "spectra": spectra, "evolution": evolution, "parallel": parallel,
            "starts": comm.allgather(int(basis.start))}


class _Unused:
    """The solve checkpoint of a run that does not solve."""
    restarts = saves = 0
    seconds = 0.0


def _check_checkpoint_path(problem, comm, resume, force):
    """A checkpoint of an earlier run is resumed (``--resume``) or replaced (``--force``), never
    silently overwritten.  Collective."""
    from ..errors import InputError, OutputExistsError
    from ..io.results import remove_stale_temporaries, try_writing
    from ..parallel import raise_collectively
    path = problem.checkpoint.path
    error = None
    if comm.rank == 0:
        if os.path.exists(path) and not resume and not force:
            error = OutputExistsError(f"a checkpoint of an earlier run of this job is at {path}: --resume goes on "
                                      "from it, --force starts over (and replaces it)")
        elif os.path.isdir(path):
            error = InputError(f"[checkpoint] path {path}: is a directory; give a file name")
        else:  # a checkpoint that cannot be written is found now, not at the first signal hours later
            try:
                try_writing(path)
                remove_stale_temporaries(path)  # (a checkpoint half written by a killed run)
            except OSError as e:
                error = InputError(f"[checkpoint] path {path}: cannot write there ({e.strerror or e}); choose "
                                   "another [checkpoint] path")
    raise_collectively(comm, comm.bcast(error, root=0))


def _check_disk(problem, dim, scalar, comm):
    """The results file and the checkpoint (the new one is written beside the old one) must
    fit on their disks: checked once the dimension is known, before the assembly and the
    solve, not after hours.  Collective."""
    from ..io.results import check_disk_space
    nbytes = 16 if scalar == "complex" else 8
    nev = problem.solver.nev + 1  # (degenerate levels come back whole: a little more)
    results = dim * (16 + (nev * nbytes if problem.write_vectors else 0)) + 2 ** 20
    checkpoint = 2 * nev * dim * nbytes
    check_disk_space({problem.output_path: results, problem.checkpoint.path: checkpoint}, comm)


def _identity(problem):
    """What a checkpoint of ``problem`` must match: the Hamiltonian's terms, the sector (all
    its symmetry sectors for "all"), and the solver settings that change the answer."""
    from ..io.checkpoint import problem_identity
    s = problem.solver
    sectors = [g.label() if g else "" for g in problem.groups] if problem.groups is not None else problem.sector_label()
    return problem_identity(sorted(repr(t) for t in problem.hamiltonian.terms.items()), sectors,
                            s.nev, s.which, s.target if s.which == "target" else None,
                            *([problem.evolution.definition] if problem.evolution is not None else []))


def _stored_basis(problem, comm, resume):
    """``((states, norms), seconds its search took)`` of the symmetric basis in the job's
    checkpoint, or ``(None, None)``.  Collective."""
    from ..io.checkpoint import read_checkpoint_attrs, read_checkpoint_basis
    if problem.group is None or not comm.bcast(os.path.exists(problem.checkpoint.path) if comm.rank == 0 else None,
                                               root=0):
        return None, None
    attrs = read_checkpoint_attrs(problem.checkpoint.path, comm, _identity(problem))
    if "basis_seconds" not in attrs:
        return None, None
    return read_checkpoint_basis(problem.checkpoint.path, comm), float(attrs["basis_seconds"])


# a checkpoint holds an enumerated basis when finding it took longer than writing and reading
# it back would (16 bytes a state at this pessimistic file-system bandwidth, bytes/s)
CHECKPOINT_BANDWIDTH = 2e8


def _solve_checkpoint(problem, basis, comm, resume, quiet, basis_seconds=0.0, PETSc=None):
    """The :class:`~fockmpi.solvers.checkpointing.SolveCheckpoint` of this run: every
    ``[checkpoint] interval`` minutes, and when a signal asks; with ``resume`` it starts from
    the job's checkpoint, if there is one (and says where it starts).  A symmetric basis that
    took ``basis_seconds`` to find goes into the checkpoint when that pays off
    (:data:`CHECKPOINT_BANDWIDTH`).  Collective."""
    from ..io.checkpoint import read_checkpoint, write_checkpoint
    from ..solvers.checkpointing import SolveCheckpoint
    settings = problem.checkpoint
    identity = _identity(problem)
    start, restarts = None, 0
    if resume:
        if comm.bcast(os.path.exists(settings.path) if comm.rank == 0 else None, root=0):
            start, values, residuals, attrs = read_checkpoint(settings.path, comm, basis, identity)
            restarts = int(attrs.get("restarts", 0)) + 1
            if not quiet:
                print0(comm, f"  resume: from {settings.path} ({len(start)} vectors, E0 ~ {values[0]:.12g}, "
                             f"|r0| = {residuals[0]:.1e}, written {attrs.get('created')}, restart {restarts})")
        else:
            print0(comm, f"  resume: no checkpoint at {settings.path} yet: the solve starts from the beginning")

    from ..basis.symmetric import SymmetricBasis
    with_basis = isinstance(basis, SymmetricBasis) and basis_seconds > 2 * 16 * basis.dim / CHECKPOINT_BANDWIDTH
    extra = {"basis_seconds": float(basis_seconds)} if with_basis else {}

    def save(vectors, values, residuals, iterations):
        from ..solvers.eigen import matvec_count
        write_checkpoint(settings.path, comm, basis, identity, vectors, values, residuals,
                         {"iterations": iterations, "matvecs": matvec_count(PETSc)[0], "restarts": restarts,
                          "sector": problem.sector_label(), "job_toml": problem.job.text, **extra},
                         with_basis=with_basis)
    checkpoint = SolveCheckpoint(comm, 60.0 * settings.interval_minutes, save, start, where=settings.path)
    checkpoint.restarts = restarts
    checkpoint.verbose = not quiet
    return checkpoint


def _start_petsc(scalar, dim, comm, problem, petsc_options):
    """Import and initialize PETSc/SLEPc for ``scalar`` (collective), start its event log (for
    matvec counts) and add command-line PETSc options to the solver's."""
    from ..solvers.eigen import check_options
    with collective_errors(comm):
        PETSc, SLEPc = runtime.init(scalar, dim)
    PETSc.Log.begin()
    for k, v in (petsc_options or {}).items():
        problem.solver.options[k] = v
    with collective_errors(comm):
        check_options(problem.solver, PETSc, SLEPc)
    return PETSc, SLEPc


def run_all_sectors(problem, comm, timer, started, quiet=False, petsc_options=None, force=False, guard=None,
                    resume=False):
    """Every symmetry sector of a job with ``"all"``: one solve per sector, one results file
    with the energies labelled by their quantum numbers (the tower of states).  Collective.

    The checkpoint keeps every finished sector (written after each) and, when a signal stops
    a solve, that sector's Ritz vectors; ``resume`` skips the finished sectors and goes on
    with the interrupted one from its vectors."""
    from ..io.results import write_results
    from ..solvers.eigen import solve
    real = problem.compiled.is_real and all(g is None or g.is_real for g in problem.groups)
    scalar = "real" if real else "complex"
    # (each sector's own dimension is held against the index width when its basis is built)
    PETSc, SLEPc = _start_petsc(scalar, 0, comm, problem, petsc_options)
    if not quiet:
        print0(comm, f"fockmpi {__version__} | {problem.title()} | {len(problem.groups)} sectors of "
                     f"{problem.sector.label()} | {comm.size} rank{'s' if comm.size > 1 else ''} | {scalar}")
    with_e = sorted({g.irrep[0] for grp in problem.groups if grp for g in grp.generators
                     if g.irrep and g.irrep[0] in ("C3v", "C4v", "C6v")})
    if with_e and not quiet:
        print0(comm, f"  note: the two-dimensional irreps (E) of {', '.join(with_e)} are not sectors here: "
                     "levels that belong to them are missing from this tower")
    progress = _SectorsCheckpoint(problem, comm, resume, quiet)
    sectors, matvecs, peak_matrix = [], 0, 0
    for group in problem.groups:
        label = group.label()
        if label in progress.finished:
            done = progress.finished[label]
            sectors.append(done)
            matvecs += done["matvecs"]
            if not quiet:
                print0(comm, f"  {label:<40} dim {done['dimension']:>10}   (solved before the restart)")
            continue
        with timer.phase("basis"):
            try:
                with collective_errors(comm):
                    basis = make_basis(problem.sector, group, comm, gauss=problem.gauss,
                                       constraint=problem.constraint, orbitals=problem.orbitals)
                    runtime.check_index_width(basis.dim)
            except SectorError as e:
                if "empty" not in str(e):
                    raise
                continue
        _check_disk(problem, basis.dim, scalar, comm)
        with timer.phase("assembly"):
            op = build_operator(problem.compiled, problem.solver, basis, comm, PETSc, True, problem.orbitals)
        checkpoint = progress.solve_checkpoint(label, basis)
        if guard is not None:
            guard.checkpoint = checkpoint
        try:
            with timer.phase("solve"):
                pairs = solve(op, problem.solver, comm, PETSc, SLEPc, show_progress=False, checkpoint=checkpoint)
        finally:
            if guard is not None:
                guard.checkpoint = None
        matvecs += max(pairs.matvecs, 0)
        peak_matrix = max(peak_matrix, op.bytes_local)
        op.destroy()
        sectors.append({"label": label, "values": sector_values(group.generators),
                        "dimension": basis.dim, "eigenvalues": pairs.values, "residuals": pairs.residuals,
                        "matvecs": max(pairs.matvecs, 0)})
        progress.finish(sectors[-1], basis)
        if not quiet:
            print0(comm, f"  {label:<40} dim {basis.dim:>10}   E = "
                         + " ".join(f"{e:.10f}" for e in pairs.values[:4]) + (" ..." if len(pairs.values) > 4 else ""))
    if not sectors:
        raise SectorError(f"no symmetry sector of {problem.sector.label()} has any state")
    t_output = time.perf_counter()
    energies = np.concatenate([s["eigenvalues"] for s in sectors])
    owner = np.concatenate([np.full(len(s["eigenvalues"]), k) for k, s in enumerate(sectors)])
    order = np.argsort(energies, kind="stable")

    def timings_now():
        timer.seconds["output"] = time.perf_counter() - t_output
        return timer.summary(comm)

    record = {
        "job_text": problem.job.text, "job_path": os.path.abspath(problem.job.path),
        "sector_label": f"{problem.sector.label()}, all symmetry sectors", "sector_values": problem.sector.physical_values(),
        "dimension": sum(s["dimension"] for s in sectors), "sectors": sectors,
        "eigenvalues": energies[order], "eigenvalue_sector": owner[order],
        "residuals": np.concatenate([s["residuals"] for s in sectors])[order],
        "solver": {"method": problem.solver.method, "which": problem.solver.which, "tol": problem.solver.tol,
                   "matvecs": matvecs, "requested": problem.solver.nev, "scalar": scalar,
                   "sectors": len(sectors), "restarts": progress.restarts, "checkpoints": progress.saves,
                   "checkpoint_seconds": progress.seconds},
        "memory": {"peak_rss_bytes": comm.allgather(peak_memory_bytes()),
                   "file_backed_bytes": comm.allgather(file_backed_bytes()),
                   "matrix_bytes": comm.allgather(peak_matrix), **timer.memory_record(comm)},
        "timings": timings_now,
        "provenance": _provenance(comm, started),
        "sweep": problem.job.sweep.record() if problem.job.sweep else None,
    }
    problem.output_path = write_results(problem.output_path, comm, record, force)
    if guard is not None:
        guard.published = problem.output_path
    if comm.rank == 0 and os.path.exists(problem.checkpoint.path):
        os.remove(problem.checkpoint.path)  # the results are complete: the checkpoint has served
    timings = timer.summary(comm)
    plot = None
    if comm.rank == 0:
        from ..io.results import plot_tower
        plot = plot_tower(problem.output_path, sectors)
    plot = comm.bcast(plot, root=0)
    if not quiet and comm.rank == 0:
        print("  lowest levels:", flush=True)
        for i in order[:min(10, len(order))]:
            print(f"    {energies[i]:>20.12f}   {sectors[owner[i]]['label']}")
        phases = ", ".join(f"{k} {v[1]:.2f} s" for k, v in timings.items())
        print(f"  {phases}\n  results: {problem.output_path}" + (f"\n  plot: {plot}" if plot else ""), flush=True)
    return {"eigenvalues": energies[order], "sectors": sectors, "timings": timings, "path": problem.output_path,
            "plot": plot}


class _SectorsCheckpoint:
    """The checkpoint of a job over several symmetry sectors: the finished sectors (rewritten
    after each one, no vectors) and, when a signal stops a solve, that sector's Ritz vectors.
    Collective."""

    def __init__(self, problem, comm, resume, quiet):
        import json
        from ..io.checkpoint import read_checkpoint_attrs
        self.problem, self.comm, self.quiet = problem, comm, quiet
        self.identity = _identity(problem)
        self.path = problem.checkpoint.path
        self.finished, self.restarts, self.saves, self.seconds = {}, 0, 0, 0.0
        self.interrupted, self.vector_count = "", 0
        if resume:
            if comm.bcast(os.path.exists(self.path) if comm.rank == 0 else None, root=0):
                attrs = read_checkpoint_attrs(self.path, comm, self.identity)
                for sec in json.loads(attrs.get("finished_sectors", "[]")):
                    sec["eigenvalues"], sec["residuals"] = np.array(sec["eigenvalues"]), np.array(sec["residuals"])
                    self.finished[sec["label"]] = sec
                self.restarts = int(attrs.get("restarts", 0)) + 1
                self.interrupted = attrs.get("vectors_sector", "") if attrs["vector_count"] else ""
                if not quiet:
                    print0(comm, f"  resume: from {self.path}: {len(self.finished)} sector(s) finished"
                                 + (f", {self.interrupted} goes on from its checkpoint" if self.interrupted else "")
                                 + f" (restart {self.restarts})")
            else:
                print0(comm, f"  resume: no checkpoint at {self.path} yet: every sector is solved from the beginning")

    def _write(self, basis, vectors, values, residuals, label, iterations=0):
        import json
        from ..io.checkpoint import write_checkpoint
        t0 = time.perf_counter()
        finished = [dict(sec, dimension=int(sec["dimension"]), matvecs=int(sec["matvecs"]),
                         eigenvalues=[float(e) for e in sec["eigenvalues"]],
                         residuals=[float(r) for r in sec["residuals"]],
                         values={k: (v.item() if hasattr(v, "item") else v) for k, v in sec["values"].items()})
                    for sec in self.finished.values()]
        write_checkpoint(self.path, self.comm, basis, self.identity, vectors, values, residuals,
                         {"iterations": iterations, "restarts": self.restarts, "sector": self.problem.sector.label(),
                          "finished_sectors": json.dumps(finished), "vectors_sector": label if len(values) else ""})
        self.saves += 1
        self.seconds += time.perf_counter() - t0

    def solve_checkpoint(self, label, basis):
        """The :class:`SolveCheckpoint` of sector ``label`` (its vectors when it was the one
        interrupted)."""
        from ..io.checkpoint import read_checkpoint
        from ..solvers.checkpointing import SolveCheckpoint
        start = None
        if label == self.interrupted:
            start = read_checkpoint(self.path, self.comm, basis, self.identity)[0]

        def save(vectors, values, residuals, iterations):
            self._write(basis, vectors, values, residuals, label, iterations)
        return SolveCheckpoint(self.comm, 60.0 * self.problem.checkpoint.interval_minutes, save, start,
                               where=self.path)

    def finish(self, sector, basis):
        """Record a finished sector (collective write, no vectors)."""
        self.finished[sector["label"]] = sector
        self._write(basis, [], [], [], "")


def print_summary(comm, problem, basis, pairs, timings, memory, observables=None):
    """The short table of ``fockmpi run``.  Rank 0 prints."""
    if comm.rank != 0:
        return
    lines = [f"  {'phase':<10}{'min [s]':>10}{'max [s]':>10}{'mean [s]':>10}"]
    for phase in ("model", "basis", "assembly", "solve", "spectra", "evolution", "output"):
        if phase in timings:
            lo, hi, mean = timings[phase]
            lines.append(f"  {phase:<10}{lo:>10.3f}{hi:>10.3f}{mean:>10.3f}")
    after = ", ".join(f"{p} {max(memory[f'peak_rss_after_{p}']) / 2**20:.0f}" for p in ("model", "basis", "assembly")
                      if f"peak_rss_after_{p}" in memory)
    lines.append(f"  peak memory per rank: {max(memory['peak_rss_bytes']) / 2**20:.0f} MiB (max; after {after}), "
                 f"matrix {max(memory['matrix_bytes']) / 2**20:.0f} MiB (max)")
    checks = pairs.stats.get("multiplet_checks", 0)
    lines.append(f"  {pairs.iterations} iterations, {pairs.matvecs} matvecs ({pairs.method})"
                 + (f"; {checks} multiplet check{'s' if checks > 1 else ''} "
                    f"({pairs.stats['check_seconds']:.1f} s of the solve)" if checks else "")
                 + ("" if pairs.stats.get("multiplets_verified", True) else
                    "; degeneracy of the last level not checked (complete_multiplets)"))
    shown = sorted(((n, v) for n, v in (observables or {}).items() if np.ndim(v) == 1),
                   key=lambda kv: (kv[0] != "S2", kv[0]))  # (S2 first; correlation matrices: in the file)
    heads = ["<S^2>" if name == "S2" else f"<{name}>" for name, _ in shown]
    width = [max(12, len(h)) for h in heads]
    lines.append(f"  {'k':>3}  {'eigenvalue':>22}  {'residual':>10}" + "".join(f"  {h:>{w}}" for h, w in zip(heads, width)))
    for k, (e, r) in enumerate(zip(pairs.values, pairs.residuals)):
        lines.append(f"  {k:>3}  {e:>22.14f}  {r:>10.2e}"
                     + "".join(f"  {v[k]:>{w}.9f}" for (_, v), w in zip(shown, width)))
    lines.append(f"  results: {problem.output_path}")
    print("\n".join(lines), flush=True)


def traffic_summary(p):
    """One line about what a product moves between ranks and how evenly the work is spread."""
    if p["bytes_per_product"] < 0:
        return (f"parallel: states per rank max/mean {p['imbalance_states']:.3f} (the operator does not count its "
                "messages)")
    return (f"parallel: one product moves {p['bytes_per_product'] / 2**20:.3g} MiB ({sum(p['ghost_values'])} values, "
            f"{sum(p['ghost_messages'])} messages); max/mean per rank: states {p['imbalance_states']:.3f}, "
            f"non-zeros {p['imbalance_nnz']:.3f}")


EXACT_SYMMETRIC_INFO = 5 * 10 ** 7


def describe_job(job, ranks=1, memory_per_node=None, cores_per_node=None):
    """``fockmpi plan`` (and ``info``): the sector dimension, entries per row, memory per rank
    stored and matrix-free, and a recommendation (:mod:`fockmpi.app.plan`).  Not collective.

    ``memory_per_node`` (bytes) and ``cores_per_node`` default to this machine's available
    memory and processors."""
    from .plan import estimate, recommend
    t0 = time.perf_counter()
    from .plan import is_enumerated, upper_dimension
    problem = build_problem(job)
    u1 = upper_dimension(problem)
    if u1 == 0:
        raise SectorError(f"the sector {problem.sector.label()} is empty for this lattice")
    # the symmetric dimension needs the orbit scan: exact for moderate sectors (one rank scans
    # ~1e7 states per second), else the estimate U(1) dimension / group order
    est = estimate(problem, ranks, count_symmetric=(problem.group is not None or is_enumerated(problem))
                   and u1 <= EXACT_SYMMETRIC_INFO)
    t_dim = time.perf_counter() - t0
    # the solver options are tried as run would (PETSc starts; a second or so)
    from ..solvers.eigen import check_options
    real = est.scalar_bytes == 8
    PETSc, SLEPc = runtime.init("real" if real else "complex")
    check_options(problem.solver, PETSc, SLEPc)
    warnings = [str(e) for e in capacity_problems(problem, ranks)]
    available = available_memory_bytes()
    memory = memory_per_node or available or 0
    cores = cores_per_node or os.cpu_count() or 1
    storage, nodes, per_node = recommend(est, memory, cores) if memory else (problem.solver.storage, None, None)
    if problem.solver.storage not in ("auto", "direct") and memory:
        storage = problem.solver.storage
        nodes = est.nodes(storage, memory, cores)
        per_node = -(-ranks // nodes)
    return {"problem": problem, "estimate": est, "seconds": t_dim, "warnings": warnings, "ranks": ranks,
            "scalar": "real" if real else "complex", "memory_per_node": memory, "cores_per_node": cores,
            "storage": storage, "nodes": nodes, "ranks_per_node": per_node}
