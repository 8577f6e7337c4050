"""Local Hilbert spaces, their bit layout in a packed uint64 state, and additive charges.

A many-body basis state is one ``uint64``: site ``i`` occupies ``nbits`` bits starting at
bit ``offset[i]`` (site 0 in the lowest bits) and holds a local state ``v`` in
``0 .. dim-1``:

=============  ====  ======================================================================
kind           dim   local state v
=============  ====  ======================================================================
``spin``       2S+1  v = S^z + S: 0 = lowest (S^z = -S) .. 2S = highest; spin-1/2 (the
                     default): 0 = down, 1 = up.  S = 1/2, 1, 3/2, ... 50
``fermion``    2     occupation n
``electron``   4     n_up + 2 n_dn  (bit 0 = up mode, bit 1 = down mode)
``boson``      nmax+1  occupation n (``nmax`` at most 255)
``link``       2L+1  v = E + Lambda: a gauge link whose electric field E is -Lambda .. Lambda
=============  ====  ======================================================================

Fermionic modes are ordered by their bit position: site-major, up before down.  This is the
Jordan-Wigner order of :mod:`fockmpi.models.ops`; :meth:`LocalSpace.factor_matrix` includes the sign
from modes on the same site, the kernels add the string over lower sites.

Charges are integer-valued per local state and add over sites.  Internally ``Sz`` is counted
in units of 1/2 (the table holds 2 S^z) so that every charge is an integer.  The charges of a
site kind:

=============  ======================================================================
kind           charges
=============  ======================================================================
``spin``       Sz;  N_exc = S^z + S (excitations above the lowest state)
``fermion``    N
``electron``   N, N_up, N_dn, Sz
``boson``      N_b (= the occupation);  N_exc = N_b;  N = N_b on spaces without fermions
``link``       none (Gauss's law is a constraint of the basis, fockmpi.basis.gauss)
=============  ======================================================================

A charge of a space with several kinds of sites is the sum over the sites that define it
(Sz of spins and electrons together; N_exc of the spins and bosons of a cavity; N_b of the
phonons alone), except ``N``, which counts fermions wherever there are any (so that the N of
a Holstein model is the number of electrons, not electrons plus phonons).
"""
from fractions import Fraction

import numpy as np

from ..errors import CapacityError, OperatorError, SectorError


SITE_KINDS = ("spin", "fermion", "electron", "boson", "link")

MAX_LAMBDA = 63  # a link of 2 Lambda + 1 states in at most 7 bits

# user-facing charge name -> factor from the user's value to the internal integer
CHARGE_SCALE = {"Sz": 2, "N": 1, "N_up": 1, "N_dn": 1, "N_b": 1, "N_exc": 1}

MAX_SPIN = 50


class LocalSpace:
    """The Hilbert space of one site.  Not collective.

    Parameters
    ----------
    kind : {'spin', 'fermion', 'electron', 'boson'}
    nmax : int, bosons only
        Occupation cutoff; b^dagger |nmax> = 0.
    S : spins only, 1/2 (default), 1, 3/2, ... 50 (a number or a string such as "3/2")
    Lambda : links only, the field cutoff: E = -Lambda .. Lambda (1 .. 63)
    """

    def __init__(self, kind, nmax=None, S=None, Lambda=None):
        if kind not in SITE_KINDS:
            raise OperatorError(f"unknown site kind {kind!r}; expected one of {', '.join(SITE_KINDS)}")
        self.kind = kind
        self.nmax = None
        self.S = None
        self.Lambda = None
        if S is not None and kind != "spin":
            raise OperatorError(f"only spin sites have a spin S; {kind} sites do not")
        if Lambda is not None and kind != "link":
            raise OperatorError(f"only link sites have a field cutoff Lambda; {kind} sites do not")
        if kind == "link":
            if isinstance(Lambda, bool) or not isinstance(Lambda, (int, np.integer)) or not 1 <= Lambda <= MAX_LAMBDA:
                raise OperatorError(f"link sites need an integer field cutoff 1 <= Lambda <= {MAX_LAMBDA}, "
                                    f"found {Lambda!r}")
            self.Lambda = int(Lambda)
            self.dim = 2 * self.Lambda + 1
        elif kind == "spin":
            self.S = spin_value(0.5 if S is None else S)
            self.dim = int(2 * self.S) + 1
        elif kind == "boson":
            if isinstance(nmax, bool) or not isinstance(nmax, (int, np.integer)) or not 1 <= nmax <= 255:
                raise OperatorError(f"boson sites need an integer cutoff 1 <= nmax <= 255, found {nmax!r}")
            self.nmax = int(nmax)
            self.dim = self.nmax + 1
        else:
            self.dim = {"fermion": 2, "electron": 4}[kind]
        self.nbits = max(1, int(self.dim - 1).bit_length())
        self.fermion_bits = {"fermion": 0b1, "electron": 0b11}.get(kind, 0)
        v = np.arange(self.dim)
        if kind == "spin":
            self.charges = {"Sz": 2 * v - (self.dim - 1), "N_exc": v.copy()}
        elif kind == "fermion":
            self.charges = {"N": v.copy()}
        elif kind == "electron":
            up, dn = v & 1, v >> 1
            self.charges = {"N": up + dn, "N_up": up, "N_dn": dn, "Sz": up - dn}
        elif kind == "link":
            self.charges = {}
        else:
            self.charges = {"N": v.copy(), "N_b": v.copy(), "N_exc": v.copy()}

    def __eq__(self, other):
        return isinstance(other, LocalSpace) and self.key() == other.key()

    def __hash__(self):
        return hash(self.key())

    def key(self):
        """What defines the local space: (kind, nmax), and S (a string such as "3/2") for spins
        other than 1/2 (so the fingerprints of spin-1/2 bases stay what they were)."""
        if self.kind == "link":
            return (self.kind, self.Lambda)
        if self.S is None or self.S == Fraction(1, 2):
            return (self.kind, self.nmax)
        return (self.kind, self.nmax, str(self.S))

    def __repr__(self):
        extra = (f", nmax={self.nmax}" if self.nmax else f", Lambda={self.Lambda}" if self.Lambda else
                 f", S={str(self.S)!r}" if self.S not in (None, Fraction(1, 2)) else "")
        return f"LocalSpace({self.kind!r}{extra})"

    def label(self):
        """``spin``, ``spin-1``, ``spin-3/2``, ``boson(nmax=8)``, ``electron``, ..."""
        if self.kind == "spin" and self.S != Fraction(1, 2):
            return f"spin-{self.S}"
        if self.kind == "link":
            return f"link(Lambda={self.Lambda})"
        return f"boson(nmax={self.nmax})" if self.kind == "boson" else self.kind

    def accepts(self, kind, flavor):
        """True if the elementary factor ``(kind, flavor)`` of :mod:`fockmpi.models.ops` acts here."""
        species = kind[0]
        if species == "S":
            return self.kind == "spin"
        if species == "B":
            return self.kind == "boson"
        if species == "U" or species == "E":
            return self.kind == "link"
        if self.kind == "fermion":
            return flavor == -1
        return self.kind == "electron" and flavor in (0, 1)

    def factor_matrix(self, kind, flavor):
        """Matrix ``M[new, old]`` of an elementary factor on this site (float64).

        For electrons the sign of the up mode when acting on the down mode (Jordan-Wigner
        within the site) is included.  The caller checks :meth:`accepts` first.
        """
        d = self.dim
        m = np.zeros((d, d))
        v = np.arange(d)
        if kind in ("S+", "S-", "Sz"):
            S = float(self.S)
            mz = v - S  # S^z of local state v
            if kind == "Sz":
                m[v, v] = mz
            elif kind == "S+":  # S+|S,m> = sqrt(S(S+1) - m(m+1)) |S,m+1>
                m[v[:-1] + 1, v[:-1]] = np.sqrt(S * (S + 1) - mz[:-1] * (mz[:-1] + 1))
            else:
                m[v[1:] - 1, v[1:]] = np.sqrt(S * (S + 1) - mz[1:] * (mz[1:] - 1))
        elif kind in ("U+", "U-", "E"):  # links: v = E + Lambda
            if kind == "E":
                m[v, v] = v - self.Lambda
            elif kind == "U+":
                m[v[:-1] + 1, v[:-1]] = 1.0
            else:
                m[v[1:] - 1, v[1:]] = 1.0
        elif kind in ("B+", "B-"):
            if kind == "B+":
                m[v[:-1] + 1, v[:-1]] = np.sqrt(v[:-1] + 1.0)
            else:
                m[v[1:] - 1, v[1:]] = np.sqrt(v[1:].astype(float))
        else:  # fermions
            bit = 1 if flavor in (-1, 0) else 2
            for old in range(d):
                occupied = bool(old & bit)
                if (kind == "F+") == occupied:
                    continue
                sign = -1.0 if (bit == 2 and old & 1) else 1.0
                m[old ^ bit, old] = sign
        return m

    def identity_matrix(self):
        return np.eye(self.dim)


class Space:
    """Product of local spaces, one per site, packed into a uint64.  Not collective.

    Parameters
    ----------
    sites : sequence of LocalSpace
    """

    def __init__(self, sites):
        self.sites = tuple(sites)
        if not self.sites:
            raise OperatorError("a space needs at least one site")
        widths = np.array([s.nbits for s in self.sites])
        self.offsets = np.concatenate([[0], np.cumsum(widths)[:-1]]).astype(np.int64)
        self.nbits = int(widths.sum())
        if self.nbits > 64:
            raise CapacityError(f"{len(self.sites)} sites need {self.nbits} bits, more than the 64 of a "
                                "packed state; use fewer sites or smaller local spaces (boson nmax, link "
                                "Lambda, spin S; the Schwinger model's eliminated form schwinger_spins needs "
                                "one bit a site)")
        self.fermion_mask = np.uint64(sum(s.fermion_bits << int(o) for s, o in zip(self.sites, self.offsets)))

    @classmethod
    def uniform(cls, kind, nsites, nmax=None, S=None):
        """``nsites`` copies of ``LocalSpace(kind, nmax, S)``."""
        return cls([LocalSpace(kind, nmax, S)] * int(nsites))

    @property
    def nsites(self):
        return len(self.sites)

    @property
    def dims(self):
        return np.array([s.dim for s in self.sites], dtype=np.int64)

    @property
    def kinds(self):
        return sorted({s.kind for s in self.sites})

    def describe(self):
        """The local spaces in words: ``12 electron sites``, ``1 spin-1/2 site + 1 boson(nmax=30) site``."""
        counts = {}
        for s in self.sites:
            counts[s.label()] = counts.get(s.label(), 0) + 1
        return " + ".join(f"{n} {label} site{'s' if n > 1 else ''}" for label, n in counts.items())

    def site_kind(self, i):
        """Kind of site ``i``; raises OperatorError for an index outside the space."""
        if not 0 <= i < self.nsites:
            raise OperatorError(f"site {i} does not exist: the lattice has sites 0..{self.nsites - 1}")
        return self.sites[i].kind

    def full_dimension(self):
        """Dimension of the whole space (a Python int)."""
        out = 1
        for s in self.sites:
            out *= s.dim
        return out

    def charge_names(self):
        """The charges a sector can fix: each defined on some site (see the module's table)."""
        names = set()
        for s in self.sites:
            names |= set(s.charges)
        return sorted(names)

    def _counts(self, site, name):
        """Whether ``site`` contributes to the charge ``name`` of this space."""
        if name not in site.charges:
            return False
        return not (name == "N" and site.kind == "boson" and int(self.fermion_mask) != 0)

    def charge_table(self, name):
        """``table[i, v]``: internal integer charge of local state ``v`` on site ``i`` (0 on
        sites that do not carry it)."""
        if name not in self.charge_names():
            raise SectorError(f"charge {name!r} is not defined for sites of kind {'/'.join(self.kinds)}; "
                              f"available: {', '.join(self.charge_names()) or 'none'}")
        table = np.zeros((self.nsites, int(self.dims.max())), dtype=np.int64)
        for i, s in enumerate(self.sites):
            if self._counts(s, name):
                table[i, :s.dim] = s.charges[name]
        return table

    def decode(self, states):
        """Local states ``v[k, i]`` of packed ``states`` (uint64 array)."""
        states = np.asarray(states, dtype=np.uint64)
        out = np.empty(states.shape + (self.nsites,), dtype=np.int64)
        for i, s in enumerate(self.sites):
            mask = np.uint64((1 << s.nbits) - 1)
            out[..., i] = (states >> np.uint64(self.offsets[i])) & mask
        return out

    def encode(self, local):
        """Packed uint64 states from local states ``v[..., i]``."""
        local = np.asarray(local, dtype=np.uint64)
        out = np.zeros(local.shape[:-1], dtype=np.uint64)
        for i in range(self.nsites):
            out |= local[..., i] << np.uint64(self.offsets[i])
        return out


def spin_value(S):
    """S as a Fraction 1/2, 1, 3/2, ... MAX_SPIN; raises OperatorError otherwise."""
    try:
        value = Fraction(S) if not isinstance(S, float) else Fraction(S).limit_denominator(2)
    except (TypeError, ValueError, ZeroDivisionError):
        value = None
    if isinstance(S, bool) or value is None or value <= 0 or value > MAX_SPIN or (2 * value).denominator != 1 \
            or (isinstance(S, float) and abs(float(value) - S) > 1e-12):
        raise OperatorError(f"a spin S must be one of 1/2, 1, 3/2, ... {MAX_SPIN}, found {S!r}")
    return value
