"""After the ground state: the dynamical correlations (``[[spectrum]]``) and the time evolution
(``[evolution]``) of a job, wired to the run (:mod:`fockmpi.app.pipeline`): their checks before
any basis is built, the bases and Hamiltonians of their sectors built as the run builds its own,
the evolution's checkpoint.  The physics is in :mod:`fockmpi.spectra` and :mod:`fockmpi.evolution`.
"""
import os

import numpy as np

from .. import runtime
from ..basis.make import make_basis
from ..errors import SectorError
from ..parallel import collective_errors, print0
from .solve import build_operator, compile_model, sector_groups


def check_evolution(spec, sector, choices, group):
    """``[evolution]`` checked before any basis is built: one sector; a product state only without
    lattice symmetries; the quench Hamiltonian keeps the sector's charges (and Gauss's law) and
    commutes with its symmetries.  Returns the quench compiled (or None).  Not collective."""
    from ..errors import ConfigError
    ev = spec.evolution
    if ev is None:
        return None
    if len(choices) > 1:
        raise ConfigError("[evolution]", message="[evolution]: a time evolution runs in one sector; this job asks for "
                          f"{len(choices)} ('all'): give the sector's labels")
    if spec.model.orbitals is not None:
        raise ConfigError("[evolution]", message="[evolution]: not for FCIDUMP models yet")
    if ev.initial != "ground" and group is not None:
        raise ConfigError("[evolution] initial", message="[evolution] initial: a product state belongs to no symmetry "
                          f"sector ({group.label()}); remove the symmetry labels from [sector] and keep the charges")
    if ev.quench is None:
        return None
    model = ev.quench
    if (model.gauss is None) != (spec.model.gauss is None) or (model.gauss is not None and model.gauss != spec.model.gauss):
        raise ConfigError("[evolution.model]", message="[evolution.model]: the quench must keep Gauss's law of [model] "
                          "(the same static charges and boundary field)")
    try:
        compiled = compile_model(model, sector)
        if group is not None:
            sector_groups(spec.lattice, spec.model.space, model.hamiltonian, sector, choices)
    except SectorError as e:
        raise ConfigError("[evolution.model]", message=f"[evolution.model]: {e}") from None
    return compiled


def check_spectra(spec, sector, nchoices):
    """``[[spectrum]]`` entries need one sector of a basis the row kernel enumerates, and
    operators that change each charge by one amount: a :class:`ConfigError` before any basis
    is built otherwise."""
    from ..errors import ConfigError
    from ..operator.between import charge_change
    for request in spec.spectra or []:
        where = f"[[spectrum]] {request.name}"
        if nchoices > 1:
            raise ConfigError(where, message=f"{where}: a spectrum is computed from the ground state of one sector; "
                              f"this job asks for {nchoices} ('all'): give the sector's labels, e.g. momentum = 0")
        model = spec.model
        why = ("a Gauss-law basis" if model.gauss is not None else "a constrained basis" if model.constraint is not None
               else "an FCIDUMP model" if model.orbitals is not None else "a parity sector" if sector.parities else None)
        if why:
            raise ConfigError(where, message=f"{where}: dynamical correlations are not supported on {why} yet")
        try:
            for op in request.operators[:1]:
                charge_change(op, model.space, sector.names)
        except SectorError as e:
            raise ConfigError(f"{where} op", message=f"{where} op: {e}") from None


def evolution_checkpoint(problem, basis, comm, identity):
    """The state of an interrupted time evolution in the job's checkpoint, or None (no checkpoint,
    or one of the solve): ``{"step", "state", "history", "pairs"}``.  Collective."""
    import json
    from ..io.checkpoint import read_checkpoint, read_checkpoint_arrays, read_checkpoint_attrs
    from ..solvers.eigen import Eigenpairs
    path = problem.checkpoint.path
    if not comm.bcast(os.path.exists(path) if comm.rank == 0 else None, root=0):
        return None
    attrs = read_checkpoint_attrs(path, comm, identity)
    if "evolution_step" not in attrs:
        return None
    vectors, _, _, attrs = read_checkpoint(path, comm, basis, identity)
    energies = np.array(json.loads(attrs["ground_energies"]))
    ground = vectors[1:2]
    pairs = Eigenpairs(energies[:len(ground)], np.array(json.loads(attrs["ground_residuals"]))[:len(ground)], ground,
                       0, 0, len(ground), "restored", len(ground))
    return {"step": int(attrs["evolution_step"]), "state": vectors[0], "history": read_checkpoint_arrays(path, comm),
            "pairs": pairs}


def run_evolution(problem, basis, pairs, op, comm, PETSc, SLEPc, quiet, guard, resumed, identity):
    """The time evolution of ``[evolution]`` (:mod:`fockmpi.evolution`): from the lowest eigenvector
    or a product state, with the job's H (``op``, still built) or the quench's, checkpointed.
    Collective."""
    import json
    from ..evolution import evolve, product_state
    from ..io.checkpoint import write_checkpoint
    from ..observables import measure_all
    from ..solvers.checkpointing import SolveCheckpoint
    settings = problem.evolution
    if op is None:
        op = build_operator(problem.quench, problem.solver, basis, comm, PETSc, True)
    if settings.initial == "ground":
        start = pairs.vectors[0] if resumed is None else None
    else:
        with collective_errors(comm):
            start = product_state(settings.initial, problem.space, basis, comm)
    if not quiet:
        what = "the ground state" if settings.initial == "ground" else "a product state"
        print0(comm, f"  evolution: {what}, {'the quench H' if problem.quench is not None else 'H'}, "
                     f"{len(settings.times)} times to t = {settings.times[-1]:g}, {settings.method}")

    def measure(v):
        if not problem.observables:
            return {}
        found = measure_all(problem.observables, problem.definitions, problem.lattice, problem.space,
                            problem.sector.names, basis, [v], comm, PETSc, problem.group)
        return {name: value[0] for name, value in found.items() if not name.endswith("_q_labels")}

    ground = [np.asarray(v) for v in pairs.vectors[:1]]

    def save(vectors, values, residuals, iterations):
        write_checkpoint(problem.checkpoint.path, comm, basis, identity, list(vectors) + ground, list(values) * 2
                         if ground else list(values), list(residuals),
                         {"evolution_step": int(iterations), "ground_energies": json.dumps([float(e) for e in pairs.values]),
                          "ground_residuals": json.dumps([float(r) for r in pairs.residuals]),
                          "job_toml": problem.job.text}, arrays=checkpoint.history())
    checkpoint = SolveCheckpoint(comm, 60.0 * problem.checkpoint.interval_minutes, save, where=problem.checkpoint.path)
    checkpoint.what = "time evolution"
    checkpoint.verbose = not quiet
    if guard is not None:
        guard.checkpoint = checkpoint
    try:
        out = evolve(settings, op, start, measure, comm, PETSc, SLEPc, quiet, checkpoint,
                     None if resumed is None else (resumed["step"], resumed["state"], resumed["history"]))
    finally:
        if guard is not None:
            guard.checkpoint = None
        op.destroy()
        # (save and the checkpoint refer to each other: a cycle holding the eigenvectors' PETSc
        # vectors, which the garbage collector would free at a different moment on every rank,
        # and a PETSc destroy is collective; broken here, on every rank at once)
        checkpoint._save = checkpoint.history = None
    out["checkpoints"] = checkpoint.saves
    return out


def run_spectra(problem, basis, pairs, comm, PETSc, quiet):
    """Every ``[[spectrum]]`` of ``problem`` from the lowest eigenvector (:mod:`fockmpi.spectra`),
    the target sectors' bases and Hamiltonians built as the run builds its own.  Collective."""
    from ..spectra import dynamical_correlation

    def basis_of(sector, group):
        b = make_basis(sector, group, comm)
        runtime.check_index_width(b.dim)
        return b

    def hamiltonian_on(b):
        return build_operator(problem.compiled, problem.solver, b, comm, PETSc, True)

    return {r.name: dynamical_correlation(r, problem.lattice, problem.sector, problem.group, basis, pairs.vectors[0],
                                          pairs.values[0], comm, PETSc, basis_of, hamiltonian_on, quiet)
            for r in problem.spectra}


def evolution_summary(ev):
    """One line about a finished time evolution (``fockmpi run`` and ``show``)."""
    drift = float(np.max(np.abs(np.asarray(ev["energy"]) - ev["energy"][0])))
    norm = float(np.max(np.abs(np.asarray(ev["norm"]) - 1)))
    return (f"evolution: {len(ev['times'])} times, t = {ev['times'][0]:g} .. {ev['times'][-1]:g} ({ev['method']}, "
            f"{int(ev['products'])} products, {float(ev['seconds']):.1f} s); max |E(t) - E(0)| = {drift:.1e}, "
            f"max ||psi(t)|| - 1| = {norm:.1e}; observables against time in /evolution")
