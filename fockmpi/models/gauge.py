"""Lattice QED in 1+1 dimensions (the Schwinger model) with Kogut-Susskind staggered fermions.

Units and conventions (written once; docs/conventions.md repeats them).  With lattice spacing
a, coupling g, mass m and background field theta, the Hamiltonian

    H = -(i / 2a) sum_n (c+_n U_n c_n+1 - h.c.) + m sum_n (-1)^n c+_n c_n + (g^2 a / 2) sum_n (E_n + theta/2pi)^2

is solved in the dimensionless form W = 2 H / (a g^2) with x = 1/(g a)^2 and mu = 2 m / (g^2 a):

    W = x sum_n (c+_n U_n c_n+1 + h.c.) + mu sum_n (-1)^n c+_n c_n + sum_n (E_n + theta/2pi)^2,

after the unitary c_n -> i^n c_n, which makes the hopping real (on a ring of N sites the bond
from N-1 to 0 then carries x (-1)^(N/2)).  Even sites hold particles, odd sites antiparticles:
the charge is q_n = c+_n c_n - (n mod 2), and Gauss's law E_n - E_n-1 = q_n + Q_n (static
charges Q_n) is a constraint of the basis (:mod:`fockmpi.basis.gauss`), not a penalty.

Two forms of the links: a field ``E = -Lambda .. Lambda`` with U the unit shift (``Lambda``;
exact once Lambda exceeds every field the sector reaches), or a quantum link: a spin S with
E = S^z and U = S^+ / sqrt(S (S + 1)) (``link_spin``).  With open boundaries the fields can
be eliminated (:func:`schwinger_spins`): spins sigma for the fermions (c+_n c_n+1 = S+_n S-_n+1 in
the Jordan-Wigner order of fockmpi) and E_n = E_-1 + sum_{k<=n} (q_k + Q_k), a long-range
S^z S^z interaction; the two forms have the same spectrum.  The strong-coupling limit x = 0
is diagonal: the vacuum (even sites empty, odd sites filled, every E_n = 0) has W = -mu N/2
+ (N-1) (theta/2pi)^2 with open boundaries.

On a ring every link but one can be eliminated (:func:`schwinger_ring`): the field E_N-1 of
the bond that closes the ring stays a quantum number (the ring's zero mode; -Lambda .. Lambda),
E_n = E_N-1 + sum_{k<=n} (q_k + Q_k) for n < N-1, and only the closing hop carries U.  The
sector must be neutral (sum_n (q_n + Q_n) = 0, Gauss's law at site N-1).  Its finite-size
effects are small: the massless continuum theory on a circle has its boson at exactly
M = g/sqrt(pi) for every circumference (docs/schwinger.md).

Mass: the lattice mass m that reaches the massless continuum theory fastest is not 0 but
m = -g^2 a/8, i.e. mu = -1/4 (Dempsey, Klebanov, Pufu, Zan, arXiv:2206.05308: at that mass
the unit translation with theta -> theta + pi is an exact chiral symmetry); mu = 0 reaches
the same limit with O(a) corrections.

Sites: the fermions are 0 .. N-1, link n (between sites n and n+1) is site N + n.
"""
import math
from dataclasses import dataclass

import numpy as np

from ..errors import OperatorError, SectorError
from . import ops
from .lattice import custom_lattice
from .named import Model
from .space import LocalSpace, Space


@dataclass(frozen=True)
class GaussLaw:
    """Gauss's law of a 1D staggered-fermion gauge theory (see the module docstring).

    nsites : int              matter sites N (the space's sites 0 .. N-1 are fermions)
    periodic : bool           a ring: N links, link N-1 joins site N-1 to site 0
    static_charges : tuple    Q_n per site (integers; default all 0)
    boundary_field : float    E_{-1} with open boundaries (an integer, or a half-integer for
                              spin-1/2 quantum links)
    """

    nsites: int
    periodic: bool = False
    static_charges: tuple = ()
    boundary_field: float = 0.0

    @property
    def nlinks(self):
        return self.nsites if self.periodic else self.nsites - 1

    def charges(self):
        q = np.zeros(self.nsites, dtype=np.int64)
        if self.static_charges:
            q[:] = self.static_charges
        return q

    def label(self):
        parts = ["Gauss law", "periodic" if self.periodic else f"open, E_-1 = {self.boundary_field:g}"]
        if any(self.static_charges):
            parts.append(f"static charges {list(self.static_charges)}")
        return ", ".join(parts)

    def violations(self, space, states):
        """Per packed state, the number of sites where Gauss's law fails (0: physical).  For
        tests and checks; vectorized over states.  Not collective."""
        local = space.decode(states)
        n = local[:, :self.nsites]
        fields2 = np.stack([link_field2(space.sites[self.nsites + l], local[:, self.nsites + l])
                            for l in range(self.nlinks)], axis=1)
        q2 = 2 * (n - (np.arange(self.nsites) % 2) + self.charges())
        bad = np.zeros(len(states), dtype=np.int64)
        for site in range(self.nsites):
            incoming = fields2[:, site - 1] if site > 0 else (fields2[:, -1] if self.periodic else
                                                                   np.full(len(states), round(2 * self.boundary_field)))
            if site < self.nlinks:
                bad += fields2[:, site] - incoming != q2[:, site]
        return bad


def link_field2(site, v):
    """2 E of local state v of a link site (a link: E = v - Lambda; a spin: E = v - S)."""
    if site.kind == "link":
        return 2 * (v - site.Lambda)
    if site.kind == "spin":
        return 2 * v - (site.dim - 1)
    raise SectorError(f"a gauge link must be a link or spin site, not a {site.kind} site")


def _check(N, boundary, static_charges):
    if isinstance(N, bool) or not isinstance(N, int) or N < 2 or N % 2:
        raise OperatorError(f"the Schwinger model needs an even number N >= 2 of staggered sites, found {N!r}")
    if boundary not in ("open", "periodic"):
        raise OperatorError(f"boundary must be \"open\" or \"periodic\", found {boundary!r}")
    charges = tuple(static_charges or ())
    if charges and (len(charges) != N or not all(isinstance(q, int) and not isinstance(q, bool) for q in charges)):
        raise OperatorError(f"static_charges must be {N} integers (one per site), found {static_charges!r}")
    return charges


def schwinger(N, x, mu=0.0, theta=0.0, Lambda=None, link_spin=None, boundary="open", static_charges=None,
              boundary_field=0.0):
    """W of the lattice Schwinger model with gauge links (see the module docstring); the model's
    ``gauss`` is the Gauss law its basis enumerates.  Give ``Lambda`` (field cutoff) or
    ``link_spin`` (quantum links of spin S)."""
    charges = _check(N, boundary, static_charges)
    if (Lambda is None) == (link_spin is None):
        raise OperatorError("give the field cutoff Lambda (links E = -Lambda .. Lambda) or link_spin (quantum "
                            "links), one of the two")
    periodic = boundary == "periodic"
    nlinks = N if periodic else N - 1
    link = LocalSpace("link", Lambda=Lambda) if link_spin is None else LocalSpace("spin", S=link_spin)
    space = Space([LocalSpace("fermion")] * N + [link] * nlinks)
    if link_spin is None:
        U, E = ops.U, ops.Efield
    else:
        norm = 1 / math.sqrt(float(link.S) * (float(link.S) + 1))

        def U(i):
            return norm * ops.Sp(i)
        E = ops.Sz
    H = ops.Operator()
    for n in range(nlinks):
        m = (n + 1) % N
        sign = (-1) ** (N // 2) if m == 0 else 1  # the bond that closes the ring (module docstring)
        H += (sign * x * ops.cdag(n) * U(N + n) * ops.c(m)).plus_hc()
        field = E(N + n) + theta / (2 * math.pi)
        H += field * field
    for n in range(N):
        if mu:
            H += mu * (-1) ** n * ops.n(n)
    model = Model("schwinger", custom_lattice(space.nsites, {}, where="[model]"), space, H)
    model.gauss = GaussLaw(N, periodic, charges, float(boundary_field))
    return model


def schwinger_ring(N, x, mu=0.0, theta=0.0, Lambda=2, static_charges=None):
    """W of the Schwinger model on a ring of N sites with every link but the closing one
    eliminated (module docstring): fermion sites 0 .. N-1 and one link site N holding E_N-1 =
    -Lambda .. Lambda, ``x sum_{n<N-1} (c+_n c_n+1 + h.c.) + (-1)^(N/2) x (c+_N-1 U c_0 + h.c.)
    + mu sum (-1)^n n_n + sum_n (E_n + theta/2pi)^2``.  Its sector is N = N/2 - sum Q_n fermions
    (the model's ``default_sector``; another is refused).  Lambda bounds the zero mode only; the
    other fields take whatever values the charges give them."""
    charges = _check(N, "periodic", static_charges) or (0,) * N
    if isinstance(Lambda, bool) or not isinstance(Lambda, int) or Lambda < 1:
        raise OperatorError(f"Lambda (the zero mode's cutoff) must be an integer >= 1, found {Lambda!r}")
    space = Space([LocalSpace("fermion")] * N + [LocalSpace("link", Lambda=Lambda)])
    H = ops.Operator()
    for n in range(N - 1):
        H += (x * ops.cdag(n) * ops.c(n + 1)).plus_hc()
    # the sign of the link form's closing bond; with the zero mode a quantum number it is a
    # gauge choice (exp(i pi E_N-1) flips it), so the spectrum does not depend on it
    H += ((-1) ** (N // 2) * x * ops.cdag(N - 1) * ops.U(N) * ops.c(0)).plus_hc()
    field = ops.Efield(N) + theta / (2 * math.pi)
    H += field * field  # the closing link
    for n in range(N - 1):
        field = field + ops.n(n) + (charges[n] - n % 2)
        H += field * field
    for n in range(N):
        if mu:
            H += mu * (-1) ** n * ops.n(n)
    model = Model("schwinger_ring", custom_lattice(space.nsites, {}, where="[model]"), space, H)
    neutral = N // 2 - sum(charges)
    if not 0 <= neutral <= N:
        raise OperatorError(f"static charges {list(charges)} cannot be screened on a ring of {N} sites: the "
                            f"neutral sector would need {neutral} fermions")
    model.default_sector = {"N": neutral}
    model.sector_rule = _neutral_ring(neutral)
    return model


def _neutral_ring(neutral):
    def rule(sector):
        if sector.values != {"N": neutral}:
            found = ", ".join(f"{k} = {v}" for k, v in sector.values.items()) or "no charges"
            raise SectorError(f"a Schwinger ring is defined on its neutral sector only (Gauss's law at the last "
                              f"site: the charges sum to 0): sector N = {neutral}, found {found}")
    return rule


def schwinger_spins(N, x, mu=0.0, theta=0.0, static_charges=None, boundary_field=0.0):
    """W of the Schwinger model with open boundaries and the fields eliminated by Gauss's law:
    N spin-1/2 sites (S^z + 1/2 = c+ c), ``x sum (S+_n S-_n+1 + h.c.) + mu sum (-1)^n (Sz_n + 1/2)
    + sum_{n < N-1} (E_n + theta/2pi)^2`` with ``E_n = E_-1 + sum_{k<=n} (Sz_k + 1/2 - (k mod 2) + Q_k)``."""
    charges = _check(N, "open", static_charges) or (0,) * N
    space = Space.uniform("spin", N)
    H = ops.Operator()
    for n in range(N - 1):
        H += x * (ops.Sp(n) * ops.Sm(n + 1) + ops.Sm(n) * ops.Sp(n + 1))
    for n in range(N):
        if mu:
            H += mu * (-1) ** n * (ops.Sz(n) + 0.5)
    field = ops.Operator.scalar(boundary_field + theta / (2 * math.pi))
    for n in range(N - 1):
        field = field + ops.Sz(n) + (0.5 - n % 2 + charges[n])
        H += field * field
    return Model("schwinger_spins", custom_lattice(N, {}, where="[model]"), space, H)
