"""Dynamical correlations by the Lanczos continued fraction.

For a start vector |phi> (= O|0>, weight w = <phi|phi>) the Lanczos recursion on H,

    b_{n+1} |v_{n+1}> = H |v_n> - a_n |v_n> - b_n |v_{n-1}>,   |v_0> = |phi> / sqrt(w),

gives the coefficients a_n = <v_n|H|v_n> and b_n > 0 of the continued fraction

    G(z) = <phi| (z - H)^-1 |phi> = w / (z - a_0 - b_1^2 / (z - a_1 - b_2^2 / (z - a_2 - ...))),

whose imaginary part on the line z = E_0 + omega + i eta is the Lehmann sum
-Im G / pi = sum_n |<n|phi>|^2 L_eta(omega - (E_n - E_0)), with L_eta(x) = (eta / pi) / (x^2 + eta^2)
(a Lorentzian of half width eta, unit area).  Its first 2N moments are exact after N steps, so
the vectors need no reorthogonalization: a ghost copy of a converged level only shares that
level's weight.  Three vectors are held; every step costs one product with H.
"""
import numpy as np

# a start vector of smaller squared norm is taken as zero: rounding noise of O|0> where the
# exact weight vanishes stays near dim * 1e-32, and physical weights are many orders larger
ZERO_WEIGHT = 1e-20


def continued_fraction(a, b, weight, z):
    """``G(z)`` at the complex points ``z`` (any shape) from ``a`` (n,), ``b`` (n,) with ``b[0]``
    unused (b_1 .. b_{n-1} follow) and the ``weight`` <phi|phi>; the fraction is cut after the
    last level (terminator 0).  Not collective."""
    z = np.asarray(z, dtype=complex)
    g = np.zeros_like(z)
    for n in range(len(a) - 1, -1, -1):
        tail = b[n + 1] ** 2 * g if n + 1 < len(a) else 0.0
        g = 1.0 / (z - a[n] - tail)
    return weight * g


def lorentzian_spectrum(a, b, weight, energy0, omega, broadening, negative=False):
    """``S(omega) = -Im G(E_0 + omega + i eta) / pi`` (``negative``: ``G(E_0 - omega + i eta)``,
    the poles at omega = -(E_n - E_0), as for the removal part of a spectral function).  Not
    collective."""
    omega = np.asarray(omega, dtype=float)
    shift = -omega if negative else omega
    return -continued_fraction(a, b, weight, energy0 + shift + 1j * broadening).imag / np.pi


def lanczos_coefficients(mat, start, steps, comm, energy0=0.0, omega=None, broadening=None, tol=1e-7,
                         check_every=10, stop=None):
    """Run Lanczos on the PETSc matrix ``mat`` (hermitian) from the PETSc vector ``start`` (not
    changed).  Collective.

    Stops after ``steps`` steps, where ``b`` falls below 1e-12 of the spectral scale (the Krylov
    space is invariant: the fraction is exact), or, with ``omega`` and ``broadening``, where the
    spectrum on that grid changes by less than ``tol`` of its maximum over ``check_every`` steps.
    ``stop`` (a callable or None) is called every step (a pending signal raises there).

    Returns ``(a, b, weight, converged)``: arrays of the coefficients (``b[0] = 0``), the start
    vector's squared norm, and whether a criterion other than ``steps`` ended the run.
    """
    weight = start.norm() ** 2
    a, b = [], [0.0]
    if weight <= ZERO_WEIGHT:  # (zero in exact arithmetic: S^+_0 on a singlet gives rounding noise)
        return np.zeros(0), np.zeros(0), 0.0, True
    v = start.copy()
    v.scale(1.0 / np.sqrt(weight))
    prev = v.duplicate()
    prev.set(0.0)
    w = v.duplicate()
    previous, converged, scale = None, False, 0.0
    try:
        for n in range(steps):
            if stop is not None:
                stop()
            mat.mult(v, w)
            an = w.dot(v).real
            a.append(an)
            w.axpy(-an, v)
            if n:
                w.axpy(-b[n], prev)
            bn = w.norm()
            scale = max(scale, abs(an), bn)
            if bn <= 1e-12 * max(scale, 1e-300):
                converged = True
                break
            if omega is not None and broadening is not None and (n + 1) % check_every == 0:
                now = lorentzian_spectrum(np.array(a), np.array(b[:len(a)]), weight, energy0, omega, broadening)
                if previous is not None and np.max(np.abs(now - previous)) <= tol * max(np.max(np.abs(now)), 1e-300):
                    converged = True
                    break
                previous = now
            if n + 1 == steps:
                break
            b.append(bn)
            prev, v, w = v, w, prev
            v.scale(1.0 / bn)
    finally:
        for vec in (v, prev, w):
            vec.destroy()
    return np.array(a), np.array(b[:len(a)]), float(weight), converged
