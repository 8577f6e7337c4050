"""Real-time evolution of a distributed state (the stage after the solver, beside the spectra):
|psi(t)> = exp(-i H t)|psi(t_0)>, hbar = 1, t in inverse units of H's couplings.

The initial state is the lowest eigenvector of the job's Hamiltonian (a quench when
``[evolution.model]`` gives another H for t > 0) or a product state of local states
(:func:`product_state`, U(1) sectors only: a product state belongs to no momentum sector).  At
every requested time the energy <psi|H|psi>, the norm and every ``[[observable]]`` are measured
(in a symmetry sector averaged over the group, as for eigenvectors).  The propagator is the
Krylov one of :mod:`fockmpi.solvers.propagate` or SLEPc's MFN; real Hamiltonians evolve in the
complex build.  A checkpoint (the state and the history so far) is written every ``[checkpoint]
interval`` and when a signal asks, and ``--resume`` goes on from it.  Collective where marked.
"""
import time

import numpy as np


def product_state(initial, space, basis, comm):
    """This rank's slice of the basis vector of the product state ``initial`` (local states, one
    per site), or a :class:`~fockmpi.errors.SectorError` saying which charges it has when it is
    not in the basis' sector.  Collective."""
    from .errors import SectorError
    from .models.space import CHARGE_SCALE
    state = np.asarray(space.encode(np.array([initial], dtype=np.uint64)), dtype=np.uint64).reshape(1)
    index = int(basis.index_of(state, comm)[0])
    if index < 0:
        charges = ", ".join(f"{name} = {int(sum(space.charge_table(name)[i, v] for i, v in enumerate(initial))) / CHARGE_SCALE.get(name, 1):g}"
                            for name in basis.sector.names)
        raise SectorError(f"[evolution] initial: the product state has {charges or 'other charges'}, so it is not in "
                          f"the sector {basis.sector.label()} of [sector]; choose the sector of the state")
    out = np.zeros(basis.local_size, dtype=complex)
    if basis.start <= index < basis.start + basis.local_size:
        out[index - basis.start] = 1.0
    return out


def evolve(settings, hamiltonian, start, measure, comm, PETSc, SLEPc, quiet=False, checkpoint=None, resumed=None):
    """Evolve ``start`` (this rank's slice, normalized) with the operator ``hamiltonian`` (``.mat``)
    over ``settings.times`` (a :class:`~fockmpi.jobfile.evolution.EvolutionSettings`).  Collective.

    ``measure(vector)`` gives ``{name: value}`` of the observables in one state (this rank's
    slice).  ``checkpoint``: a :class:`~fockmpi.solvers.checkpointing.SolveCheckpoint` whose save
    gets ``(vectors=[state], values=[t], residuals=[], iterations=k)`` and ``history()`` for its
    arrays.  ``resumed``: ``(k, state slice, history arrays)`` of a checkpoint to go on from.

    Returns ``{"times", "energy", "norm", "observables": {name: (nt, ...)}, "products",
    "krylov_steps", "seconds", "method", "definition"}``."""
    from .parallel import print0
    from .solvers.eigen import matvec_count
    from .solvers.propagate import KrylovPropagator, MFNPropagator
    times = settings.times
    mat = hamiltonian.mat
    x, hx = mat.createVecs()
    energy, norm, observed = [], [], {}
    first = 0
    if resumed is not None:
        first, state, history = resumed
        x.getArray()[:] = state
        energy, norm = list(history["energy"]), list(history["norm"])
        observed = {k[4:]: list(v) for k, v in history.items() if k.startswith("obs_")}
    else:
        x.getArray()[:] = start
    prop = (KrylovPropagator(mat, settings.tol, settings.krylov_dim) if settings.method == "krylov"
            else MFNPropagator(mat, SLEPc, settings.tol, settings.krylov_dim))
    t0 = last = time.perf_counter()
    counted0, seconds0 = matvec_count(PETSc)  # (PETSc's MatMult log: every product, MFN's included)

    def products():
        return matvec_count(PETSc)[0] - counted0 if counted0 >= 0 else prop.products

    def history():
        out = {"energy": np.array(energy), "norm": np.array(norm)}
        out.update({f"obs_{k}": np.array(v) for k, v in observed.items()})
        return out
    if checkpoint is not None:
        checkpoint.history = history
    try:
        for k in range(first, len(times)):
            if k > first:
                prop.advance(x, times[k] - times[k - 1])
            if len(energy) > k:  # (resumed at a time whose values are in the history)
                continue
            mat.mult(x, hx)
            energy.append(comm.allreduce(np.vdot(x.getArray(readonly=True), hx.getArray(readonly=True))).real)
            norm.append(x.norm())
            for name, value in measure(x.getArray(readonly=True)).items():
                observed.setdefault(name, []).append(np.asarray(value))
            now = time.perf_counter()
            if not quiet and (now - last >= 2.0 or k == len(times) - 1 or k == first):
                print0(comm, f"  evolution: t = {times[k]:.6g} ({k + 1}/{len(times)}), E = {energy[-1]:.12g}, "
                             f"|psi| - 1 = {norm[-1] - 1:+.1e}, {products()} products, {now - t0:.1f} s")
                last = now
            if checkpoint is not None and k < len(times) - 1 and checkpoint.due():
                checkpoint.save([x.getArray(readonly=True).copy()], [times[k]], [], k)
        count, seconds = products(), matvec_count(PETSc)[1] - seconds0
    finally:
        prop.destroy()
        x.destroy()
        hx.destroy()
    return {"times": np.asarray(times), "energy": np.array(energy), "norm": np.array(norm),
            "observables": {k: np.array(v) for k, v in observed.items()}, "products": count,
            "matmult_seconds": seconds,
            "krylov_steps": prop.steps, "seconds": time.perf_counter() - t0, "method": settings.method,
            "definition": settings.definition}
