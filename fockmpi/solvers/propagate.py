"""exp(-i H t)|psi> on distributed vectors: a Lanczos (Krylov) propagator of our own and SLEPc's
MFN, the same interface.  Units: hbar = 1, t in inverse units of H's couplings.

Krylov: from v_0 = psi / beta (beta = ||psi||) Lanczos builds V_m and the tridiagonal T_m, and

    exp(-i h H) psi ~ beta V_m exp(-i h T_m) e_1,

with the a-posteriori error estimate err(h) = beta b_{m+1} |[exp(-i h T_m) e_1]_m| (Saad 1992:
the first neglected term).  One Krylov space serves every h up to the one where err(h) exceeds
``tol * h``: the step grows until the space of ``krylov_dim`` vectors no longer holds it, and the
next space starts from there, so an output interval costs as many products as accuracy needs.
The Lanczos vectors are kept (``krylov_dim`` + 1 vectors; the memory of SLEPc's MFN with the
same ncv).  MFN: SLEPc's Krylov method for f(A) b with f(x) = exp(-i h x), a new solve per
interval, its tolerance ``tol``.
"""
import numpy as np


class KrylovPropagator:
    """``advance(x, h)``: x <- exp(-i h H) x for the PETSc matrix ``mat`` (hermitian; a complex
    build).  Collective.

    tol : error per unit time (the estimate of each step <= tol * step)
    krylov_dim : the most Lanczos vectors of one space
    stop : callable or None, called every product (a pending signal raises there)
    """

    def __init__(self, mat, tol=1e-10, krylov_dim=30, stop=None):
        self.mat, self.tol, self.m, self.stop = mat, float(tol), int(krylov_dim), stop
        self.products = 0
        self.steps = 0
        self._V = None

    def _space(self, x):
        if self._V is None:
            self._V = [x.duplicate() for _ in range(self.m + 1)]
        return self._V

    def advance(self, x, h):
        """x <- exp(-i h H) x (in place), in as many Krylov steps as ``tol`` needs."""
        done = 0.0
        while done < h * (1 - 1e-14):
            done += self._step(x, h - done)

    def _step(self, x, h):
        """One Krylov space from x; advance by the largest part of ``h`` it holds.  Returns it."""
        V = self._space(x)
        beta = x.norm()
        if beta == 0.0:
            return h
        x.copy(V[0])
        V[0].scale(1.0 / beta)
        a, b = [], []
        w = V[self.m]  # (the last slot serves as work vector until it is needed)
        used = h
        for j in range(self.m):
            if self.stop is not None:
                self.stop()
            out = V[j + 1] if j + 1 < self.m else w
            self.mat.mult(V[j], out)
            self.products += 1
            a.append(out.dot(V[j]).real)
            out.axpy(-a[-1], V[j])
            if j:
                out.axpy(-b[-1], V[j - 1])
            bj = out.norm()
            T = np.diag(a) + (np.diag(b, 1) + np.diag(b, -1) if b else 0)
            if bj <= 1e-13 * max(1.0, max(abs(t) for t in a)):  # invariant space: exact for every h
                c = _expm_e1(T, used)
                break
            c = _expm_e1(T, used)
            if beta * bj * abs(c[-1]) <= self.tol * used:
                break
            if j + 1 == self.m:  # the space is full: the largest step it holds to tolerance
                lo, hi = 0.0, used
                for _ in range(40):
                    mid = 0.5 * (lo + hi)
                    if beta * bj * abs(_expm_e1(T, mid)[-1]) <= self.tol * mid:
                        lo = mid
                    else:
                        hi = mid
                if lo == 0.0:
                    raise ArithmeticError("the Krylov propagator cannot reach its tolerance: raise krylov_dim")
                used = lo
                c = _expm_e1(T, used)
                break
            b.append(bj)
            out.scale(1.0 / bj)
        n = len(c)
        x.set(0.0)
        x.maxpy(list(beta * c), V[:n])
        self.steps += 1
        return used

    def destroy(self):
        for v in self._V or []:
            v.destroy()
        self._V = None


def _expm_e1(T, h):
    """exp(-i h T) e_1 for the real symmetric tridiagonal T."""
    w, S = np.linalg.eigh(T)
    return S @ (np.exp(-1j * h * w) * S[0])


class MFNPropagator:
    """The same with SLEPc's MFN (``exp`` with the scale -i h, tolerance ``tol``, ``krylov_dim``
    as ncv).  Collective."""

    def __init__(self, mat, SLEPc, tol=1e-10, krylov_dim=30, stop=None):
        self.mat, self.SLEPc, self.tol, self.m, self.stop = mat, SLEPc, float(tol), int(krylov_dim), stop
        self.products = 0
        self.steps = 0
        self._mfn = None
        self._scale = None

    def advance(self, x, h):
        if self.stop is not None:
            self.stop()
        SLEPc = self.SLEPc
        if self._mfn is None:
            self._mfn = SLEPc.MFN().create(comm=self.mat.getComm())
            self._mfn.setOperator(self.mat)
            self._mfn.getFN().setType(SLEPc.FN.Type.EXP)
            self._mfn.setTolerances(self.tol)
            self._mfn.setDimensions(self.m)
            self._mfn.setErrorIfNotConverged(True)
        if self._scale != h:
            self._mfn.getFN().setScale(-1j * h)
            self._scale = h
        y = x.duplicate()
        self._mfn.solve(x, y)
        self.steps += 1
        y.copy(x)
        y.destroy()

    def destroy(self):
        if self._mfn is not None:
            self._mfn.destroy()
            self._mfn = None
