"""Davidson's method with the diagonal preconditioner (Davidson 1975, Liu's block form): the
eigensolver of full CI, where the diagonal dominates and Krylov methods need many more products
(H2O/6-31G: Krylov-Schur 187 products to tol 1e-8, this ~15).

Each step: the Ritz pairs (theta, x) of H in the search space V, the residuals
r = H x - theta x, and one correction per unconverged root, ``t = r / (theta - diag(H))``
(denominators kept away from zero), orthogonalized against V (classical Gram-Schmidt, twice)
and added.  When V would exceed ``max_space`` it is collapsed to the current Ritz vectors.
Converged: ``|r| <= tol * max(1, |theta|)`` for every wanted root (SLEPc's relative test).
Vectors are this rank's slices (numpy), dot products one allreduce per block, so memory per
rank is ``2 (max_space + nev)`` vectors' slices, held in place.
"""
import time

import numpy as np

from ..errors import ConvergenceError
from ..parallel import print0


LINDEP = 1e-8  # a correction whose norm after orthogonalization is below this (relative) is dropped


def davidson(mat, want, tol, comm, max_it=0, max_space=0, show_progress=True, start=None, checkpoint=None):
    """The ``want`` lowest eigenpairs of the hermitian PETSc matrix ``mat`` (which must give its
    diagonal), as a list of (value, PETSc Vec, absolute residual), and the number of iterations.
    Collective.  ``start``: local slices of start vectors (default: the unit vectors of the
    lowest diagonal entries, e.g. the Hartree-Fock determinant).  ``checkpoint``: a
    :class:`~fockmpi.solvers.checkpointing.SolveCheckpoint` that gets the Ritz vectors when due."""
    x, y = mat.createVecs()
    d = x.duplicate()
    mat.getDiagonal(d)
    diag = d.getArray(readonly=True).real.copy()
    d.destroy()
    n = len(diag)
    dim = mat.getSize()[0]
    want = min(want, dim)
    max_space = max(max_space or max(12, 3 * want), 2 * want + 2)
    max_space = min(max_space, dim)
    max_it = max_it or 100 * max(1, want)
    scalar = x.getArray(readonly=True).dtype
    dot = _allreduce(comm)

    def apply(v):
        x.getArray()[:] = v
        mat.mult(x, y)
        return y.getArray(readonly=True).copy()

    # the search space and its image, in place (rows 0..k-1 in use): no copies as it grows
    V = np.zeros((max_space + want, n), dtype=scalar)
    AV = np.zeros_like(V)
    k = 0
    for v in (start if start is not None else _lowest_diagonal_units(diag, want, comm, scalar)):
        k = _extend(V, AV, k, np.asarray(v, dtype=scalar), apply, dot)
    t0 = time.perf_counter()
    theta, X, R, rnorm = None, None, None, None
    for it in range(1, max_it + 1):
        Vk = V[:k].conj() if np.iscomplexobj(V) else V[:k]
        Hs = dot(Vk @ AV[:k].T)
        Hs = 0.5 * (Hs + Hs.conj().T)
        w, s = np.linalg.eigh(Hs)
        m = min(want, len(w))
        theta, s = w[:m], s[:, :m]
        X = s.T @ V[:k]
        R = s.T @ AV[:k] - theta[:, None] * X
        rnorm = np.sqrt(np.maximum(dot(np.sum(np.abs(R) ** 2, axis=1)), 0.0))
        done = rnorm <= tol * np.maximum(1.0, np.abs(theta))
        if show_progress and (it % 5 == 0 or done.all()):
            print0(comm, f"  solve: davidson iteration {it}, {int(done.sum())} of {m} converged, E0 ~ {theta[0]:.12g}, "
                         f"|r0| = {rnorm[0]:.2e}  ({time.perf_counter() - t0:.1f} s)", flush=True)
        if done.all() and m == want:
            break
        if checkpoint is not None and checkpoint.due():
            checkpoint.save(list(X), theta, rnorm, it)
        todo = [j for j in range(m) if not done[j]]
        if k + len(todo) > max_space:  # collapse onto the Ritz vectors (orthonormal)
            V[:m], AV[:m] = X, s.T @ AV[:k]
            k = m
        before = k
        for j in todo:
            denom = theta[j] - diag
            denom = np.where(np.abs(denom) < 1e-8, np.copysign(1e-8, denom), denom)
            k = _extend(V, AV, k, R[j] / denom, apply, dot)
        if k == before:  # every correction lies in the space: extend by the residuals
            for j in todo:
                k = _extend(V, AV, k, R[j], apply, dot)
        if k == before:
            raise ConvergenceError(f"Davidson stagnated at residuals {', '.join(f'{r:.1e}' for r in rnorm)} (no new "
                                   "direction); loosen [solver] tol or use method = \"krylovschur\"")
    else:
        raise ConvergenceError(f"Davidson did not converge {want} eigenpair(s) to tol {tol:g} in {max_it} "
                               f"iterations (residuals {', '.join(f'{r:.1e}' for r in rnorm)}); raise [solver] "
                               "max_it or loosen tol")
    out = []
    for j in range(len(theta)):
        v = mat.createVecRight()
        v.getArray()[:] = X[j]
        out.append((float(theta[j].real), v, float(rnorm[j])))
    x.destroy()
    y.destroy()
    return out, it


def _extend(V, AV, k, t, apply, dot):
    """Append ``t``, orthonormalized against rows 0..k-1 of V (twice), to V and its image to AV,
    unless it is (nearly) in their span; returns the new number of rows in use."""
    norm0 = np.sqrt(dot(np.vdot(t, t).real))
    if norm0 == 0.0:
        return k
    t = t / norm0
    for _ in range(2):
        if k:
            Vk = V[:k].conj() if np.iscomplexobj(V) else V[:k]
            t = t - dot(Vk @ t) @ V[:k]
    norm = np.sqrt(dot(np.vdot(t, t).real))
    if norm < LINDEP:
        return k
    V[k] = t / norm
    AV[k] = apply(V[k])
    return k + 1


def _lowest_diagonal_units(diag, want, comm, scalar):
    """Unit vectors (local slices) at the ``want`` lowest diagonal entries over all ranks, each
    with a random part of norm 1e-2: a start of one symmetry (a closed-shell determinant is a
    singlet) would keep the search in that symmetry, blind to a lower level of another."""
    k = min(want, len(diag))
    mine = np.argsort(diag)[:k]
    offset = comm.exscan(len(diag)) or 0
    pool = sorted(p for part in comm.allgather([(float(diag[i]), offset + int(i)) for i in mine]) for p in part)
    chosen = [g for _, g in pool[:want]]
    out = []
    for g in chosen:
        v = np.zeros(len(diag), dtype=scalar)
        rng = np.random.default_rng(7919 * comm.rank + g)
        noise = rng.standard_normal(len(diag))
        total = np.sqrt(comm.allreduce(float(noise @ noise)))
        v += (1e-2 / max(total, 1e-300)) * noise
        if offset <= g < offset + len(diag):
            v[g - offset] += 1.0
        out.append(v)
    return out


def _allreduce(comm):
    def dot(a):
        return comm.allreduce(a)
    return dot
