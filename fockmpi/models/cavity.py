"""Light-matter models: two-level systems (or one collective spin) coupled to one cavity mode.

Conventions (docs/conventions.md): hbar = 1; the mode is a boson ``a`` with occupation cutoff
``nmax`` (``a^dagger |nmax> = 0``: converge in nmax); a two-level system is a spin-1/2 with
``sigma_z / 2 = S^z``, ``sigma_+ = S^+``, ``sigma_x = 2 S^x``; ``Delta`` is its level
splitting, ``omega`` the mode frequency, ``g`` the coupling.

================  ========================================================================
model             H
================  ========================================================================
rabi              omega a+a + Delta Sz + 2 g Sx (a + a+)                     [= g sigma_x (a + a+)]
jaynes_cummings   omega a+a + Delta Sz + g (a S+ + a+ S-)
tavis_cummings    omega a+a + Delta sum_i Sz_i + (g / sqrt(N)) sum_i (a S+_i + a+ S-_i)
dicke             omega a+a + Delta sum_i Sz_i + (2 g / sqrt(N)) sum_i Sx_i (a + a+)
================  ========================================================================

With ``collective=True`` the N two-level systems are one spin ``j = N/2`` (``J = sum_i S_i``):
the same H on the symmetric manifold, of dimension ``(N + 1)(nmax + 1)`` instead of
``2^N (nmax + 1)``.  The Dicke superradiant transition is at ``g = sqrt(omega Delta) / 2``.

Conserved: ``N_exc = a+a + sum_i (Sz_i + 1/2)`` by Jaynes- and Tavis-Cummings (a U(1)
charge: ``[sector] N_exc = n``), only its parity ``exp(i pi N_exc)`` by Rabi and Dicke
(``[sector] N_exc_parity = 1`` or ``-1``).

Sites: the spins (or the collective spin) are sites ``0 .. N-1``, the mode is the last site.
"""
import math

from . import ops
from .lattice import custom_lattice
from .named import Model
from .space import LocalSpace, Space


def _sites(N, nmax, collective):
    if isinstance(N, bool) or not isinstance(N, int) or N < 1:
        from ..errors import OperatorError
        raise OperatorError(f"the number of two-level systems N must be a positive integer, found {N!r}")
    spins = [LocalSpace("spin", S=f"{N}/2")] if collective else [LocalSpace("spin")] * N
    space = Space(spins + [LocalSpace("boson", nmax)])
    return space, len(spins), custom_lattice(space.nsites, {}, where="[model]")


def _mode(space):
    return space.nsites - 1


def rabi(nmax, omega=1.0, Delta=1.0, g=0.0):
    """``omega a+a + Delta Sz + 2 g Sx (a + a+)``: one two-level system (site 0), one mode (site 1)."""
    return _dicke_like("rabi", 1, nmax, omega, Delta, 2 * g, False, rotating=False)


def jaynes_cummings(nmax, omega=1.0, Delta=1.0, g=0.0):
    """``omega a+a + Delta Sz + g (a S+ + a+ S-)``: the rotating-wave Rabi model; conserves N_exc."""
    return _dicke_like("jaynes_cummings", 1, nmax, omega, Delta, g, False, rotating=True)


def tavis_cummings(N, nmax, omega=1.0, Delta=1.0, g=0.0, collective=False):
    """``omega a+a + Delta sum Sz_i + (g/sqrt(N)) sum (a S+_i + a+ S-_i)``; conserves N_exc."""
    return _dicke_like("tavis_cummings", N, nmax, omega, Delta, g / math.sqrt(N), collective, rotating=True)


def dicke(N, nmax, omega=1.0, Delta=1.0, g=0.0, collective=False):
    """``omega a+a + Delta sum Sz_i + (2g/sqrt(N)) sum Sx_i (a + a+)``; conserves the parity of N_exc."""
    return _dicke_like("dicke", N, nmax, omega, Delta, 2 * g / math.sqrt(N), collective, rotating=False)


def _dicke_like(name, N, nmax, omega, Delta, coupling, collective, rotating):
    space, nspins, lattice = _sites(N, nmax, collective)
    m = _mode(space)
    H = ops.Operator()
    if omega:
        H += omega * ops.nb(m)
    for i in range(nspins):
        if Delta:
            H += Delta * ops.Sz(i)
        if coupling:
            if rotating:
                H += coupling * (ops.b(m) * ops.Sp(i) + ops.bdag(m) * ops.Sm(i))
            else:
                H += coupling * ops.Sx(i) * (ops.b(m) + ops.bdag(m))
    return Model(name, lattice, space, H)
