"""Named Hamiltonians and user-written terms: ``[model]`` of a job file -> (Space, Operator).

Conventions (docs/conventions.md): hbar = 1, energies in the units of the couplings given,
spin operators S = sigma/2, bonds ``(i, j, J_ij)`` from the lattice with ``J_ij = 1`` on
built-in lattices (custom lattices give their own), sums over bonds count each listed bond
once.

=================  ========================================================================
type               Hamiltonian
=================  ========================================================================
heisenberg, xxz    J sum_<ij> J_ij [ (S+_i S-_j + S-_i S+_j)/2 + Delta Sz_i Sz_j ]
                   + J2 sum_<<ij>> (same with Delta) - h sum_i Sz_i + D sum_i (Sz_i)^2
                   (defaults J = 1, Delta = 1, J2 = 0, h = 0, D = 0; J > 0
                   antiferromagnetic; spin S = 1/2 unless ``S`` is given: S = 1 is the
                   Haldane chain, D its single-ion anisotropy)
tfim               -J sum_<ij> J_ij Sz_i Sz_j - h sum_i Sx_i   (critical at h = J/2 in 1D)
hubbard            -t sum_<ij>,s J_ij (cdag_is c_js + h.c.) + U sum_i n_i,up n_i,dn
                   - mu sum_i,s n_is
tV                 -t sum_<ij> J_ij (cdag_i c_j + h.c.) + V sum_<ij> J_ij n_i n_j - mu sum_i n_i
bose_hubbard       -t sum_<ij> J_ij (bdag_i b_j + h.c.) + U/2 sum_i n_i (n_i - 1) - mu sum_i n_i
                   (occupation cutoff ``nmax`` required)
holstein           -t sum_<ij> J_ij (cdag_i c_j + h.c.) + omega sum_i bdag_i b_i
                   + g sum_i n_i (b_i + bdag_i)   (spinless fermions, one phonon mode per site
                   with cutoff ``nmax``; at t = 0 an occupied site lowers E by g^2/omega)
hubbard_holstein   hubbard + omega sum_i bdag_i b_i + g sum_i (n_i,up + n_i,dn) (b_i + bdag_i)
custom             only the terms below; ``site`` = spin | fermion | electron | boson
                   (with ``S`` for spins, ``nmax`` for bosons)
=================  ========================================================================

Each type is a Python constructor too, with the same keywords (``hubbard(lattice, t=1, U=4)``,
``heisenberg(lattice, J=1, J2=0.5)``, ...); it returns a :class:`Model`, and ``model + operator``
adds terms written with :mod:`fockmpi.models.ops`.

Any model also takes ``[[model.term]]`` entries, added to its Hamiltonian::

    [[model.term]]
    coef = 0.5            # number or [re, im]; default 1
    op = "S+_i S-_j"      # operator string (see fockmpi.models.ops.parse_operator)
    bonds = "nn"          # optional: apply to every bond (i, j, J_ij) of a list, times J_ij
    sites = "all"         # optional: apply to every site i (or a list of sites)
    hc = true             # optional: add the hermitian conjugate
"""
from . import ops
from .space import LocalSpace, Space


def _bonds(lattice, name, where):
    return lattice.bond_list(name, where=where)


class Model:
    """A Hamiltonian on a lattice: the local spaces and the operator.  Not collective.

    Built by the constructors below (``heisenberg(lattice, J=1, Delta=0.5)``, ...) or from a
    job file's ``[model]``; ``space`` and ``hamiltonian`` are what the basis and the operator
    stages take.  ``Model + Operator`` adds terms.
    """

    def __init__(self, name, lattice, space, hamiltonian):
        self.name, self.lattice, self.space, self.hamiltonian = name, lattice, space, hamiltonian
        self.gauss = None  # a GaussLaw (fockmpi.models.gauge) when the basis is its physical states
        self.constraint = None  # a vectorized predicate on packed states the basis must satisfy
        self.default_sector = None  # charges a job without [sector] charges gets (FCIDUMP: NELEC, MS2)
        self.sector_rule = None  # callable(sector) raising SectorError where the model is undefined (a ring: charge 0)
        self.observables = {}  # name -> Operator whose <v|O|v> every root reports (FCIDUMP: S2)
        self.orbitals = None  # FCIDUMP: the integrals the direct-CI operator applies (chemistry.Orbitals)
        if space.nsites % lattice.nsites:
            from ..errors import OperatorError
            raise OperatorError(f"a model on {lattice.nsites} lattice sites needs a multiple of {lattice.nsites} "
                                f"sites in its space, found {space.nsites}")

    @property
    def layers(self):
        """Sites of the space per lattice site: site ``k * lattice.nsites + i`` is the k-th local
        space (layer) of lattice site ``i`` (Holstein: electrons, then their phonon modes), so
        lattice symmetries move every layer alike."""
        return self.space.nsites // self.lattice.nsites

    def __add__(self, other):
        if not isinstance(other, ops.Operator):
            return NotImplemented
        out = Model(self.name, self.lattice, self.space, self.hamiltonian + other)
        # gauss, constraint, ...; the integrals of a direct-CI operator only if H stays theirs
        keep = ("hamiltonian",) + (("orbitals",) if other.terms else ())
        out.__dict__.update({k: v for k, v in self.__dict__.items() if k not in keep})
        out.hamiltonian = self.hamiltonian + other
        return out

    def __iter__(self):  # space, H = model
        return iter((self.space, self.hamiltonian))

    def __repr__(self):
        return f"Model({self.name!r} on {self.lattice!r}, {len(self.hamiltonian.terms)} terms)"


def spin_squared(space):
    """Total S^2 = S^- S^+ + S^z (S^z + 1) of the spin-1/2 and electron sites of ``space``
    (electrons: S^+_i = c+_i,up c_i,dn, S^z_i = (n_i,up - n_i,dn)/2)."""
    plus, z = ops.Operator(), ops.Operator()
    for i, site in enumerate(space.sites):
        if site.kind == "electron":
            plus += ops.cdag(i, "up") * ops.c(i, "dn")
            z += 0.5 * (ops.n(i, "up") - ops.n(i, "dn"))
        elif site.kind == "spin":
            plus += ops.Sp(i)
            z += ops.Sz(i)
    return plus.hc() * plus + z * z + z


def heisenberg(lattice, J=1.0, Delta=1.0, J2=0.0, h=0.0, D=0.0, S=0.5, bonds="nn", bonds2="nnn"):
    """``J sum_<ij> J_ij [(S+_i S-_j + S-_i S+_j)/2 + Delta Sz_i Sz_j] + J2 (same on bonds2)
    - h sum_i Sz_i + D sum_i Sz_i^2`` on spin-S sites (S = 1/2 by default; J > 0
    antiferromagnetic; ``xxz`` is the same).  For S = 1/2 the D term is a constant."""
    H = ops.Operator()
    for coupling, name in ((J, bonds), (J2, bonds2)):
        if coupling == 0:
            continue
        for i, j, Jij in _bonds(lattice, name, "[model] bonds"):
            H += coupling * Jij * (0.5 * (ops.Sp(i) * ops.Sm(j) + ops.Sm(i) * ops.Sp(j))
                                   + Delta * ops.Sz(i) * ops.Sz(j))
    for i in range(lattice.nsites):
        if h:
            H += -h * ops.Sz(i)
        if D:
            H += D * ops.Sz(i) * ops.Sz(i)
    return Model("heisenberg", lattice, Space.uniform("spin", lattice.nsites, S=S), H)


def tfim(lattice, J=1.0, h=0.0, bonds="nn"):
    """``-J sum_<ij> J_ij Sz_i Sz_j - h sum_i Sx_i`` (critical at h = J/2 in 1D)."""
    H = ops.Operator()
    for i, j, Jij in _bonds(lattice, bonds, "[model] bonds"):
        H += -J * Jij * ops.Sz(i) * ops.Sz(j)
    for i in range(lattice.nsites):
        if h:
            H += -h * ops.Sx(i)
    return Model("tfim", lattice, Space.uniform("spin", lattice.nsites), H)


def hubbard(lattice, t=1.0, U=0.0, mu=0.0, bonds="nn"):
    """``-t sum_<ij>,s J_ij (cdag_is c_js + h.c.) + U sum_i n_i,up n_i,dn - mu sum_i,s n_is``."""
    H = ops.Operator()
    for i, j, Jij in _bonds(lattice, bonds, "[model] bonds"):
        for s in ("up", "dn"):
            H += (-t * Jij * ops.cdag(i, s) * ops.c(j, s)).plus_hc()
    for i in range(lattice.nsites):
        if U:
            H += U * ops.n(i, "up") * ops.n(i, "dn")
        if mu:
            H += -mu * (ops.n(i, "up") + ops.n(i, "dn"))
    return Model("hubbard", lattice, Space.uniform("electron", lattice.nsites), H)


def tV(lattice, t=1.0, V=0.0, mu=0.0, bonds="nn"):  # noqa: N802 - the model's name
    """``-t sum_<ij> J_ij (cdag_i c_j + h.c.) + V sum_<ij> J_ij n_i n_j - mu sum_i n_i``."""
    H = ops.Operator()
    for i, j, Jij in _bonds(lattice, bonds, "[model] bonds"):
        H += (-t * Jij * ops.cdag(i) * ops.c(j)).plus_hc()
        if V:
            H += V * Jij * ops.n(i) * ops.n(j)
    for i in range(lattice.nsites):
        if mu:
            H += -mu * ops.n(i)
    return Model("tV", lattice, Space.uniform("fermion", lattice.nsites), H)


def bose_hubbard(lattice, nmax, t=1.0, U=0.0, mu=0.0, bonds="nn"):
    """``-t sum_<ij> J_ij (bdag_i b_j + h.c.) + U/2 sum_i n_i (n_i - 1) - mu sum_i n_i`` with
    at most ``nmax`` bosons a site."""
    H = ops.Operator()
    for i, j, Jij in _bonds(lattice, bonds, "[model] bonds"):
        H += (-t * Jij * ops.bdag(i) * ops.b(j)).plus_hc()
    for i in range(lattice.nsites):
        ni = ops.nb(i)
        if U:
            H += 0.5 * U * ni * (ni - 1)
        if mu:
            H += -mu * ni
    return Model("bose_hubbard", lattice, Space.uniform("boson", lattice.nsites, nmax=nmax), H)


def holstein(lattice, nmax, t=1.0, omega=1.0, g=0.0, bonds="nn"):
    """``-t sum_<ij> J_ij (cdag_i c_j + h.c.) + omega sum_i bdag_i b_i + g sum_i n_i (b_i + bdag_i)``:
    spinless fermions on sites ``0 .. n-1``, the phonon mode of site i on site ``n + i``."""
    return _with_phonons("holstein", tV(lattice, t=t, bonds=bonds), "fermion", nmax, omega, g)


def hubbard_holstein(lattice, nmax, t=1.0, U=0.0, omega=1.0, g=0.0, mu=0.0, bonds="nn"):
    """``hubbard(t, U, mu) + omega sum_i bdag_i b_i + g sum_i (n_i,up + n_i,dn) (b_i + bdag_i)``:
    electrons on sites ``0 .. n-1``, the phonon mode of site i on site ``n + i``."""
    return _with_phonons("hubbard_holstein", hubbard(lattice, t=t, U=U, mu=mu, bonds=bonds), "electron", nmax,
                         omega, g)


def _with_phonons(name, electronic, kind, nmax, omega, g):
    lattice = electronic.lattice
    n = lattice.nsites
    space = Space(list(electronic.space.sites) + [LocalSpace("boson", nmax)] * n)
    H = ops.Operator(dict(electronic.hamiltonian.terms))
    for i in range(n):
        phonon = n + i
        if omega:
            H += omega * ops.nb(phonon)
        if g:
            density = ops.n(i) if kind == "fermion" else ops.n(i, "up") + ops.n(i, "dn")
            H += g * density * (ops.b(phonon) + ops.bdag(phonon))
    return Model(name, lattice, space, H)


def custom(lattice, site, nmax=None, S=None, Lambda=None):
    """No terms yet, on ``site`` = spin | fermion | electron | boson | link sites (add operators);
    ``S`` for spins (default 1/2), ``nmax`` for bosons, ``Lambda`` for links."""
    space = Space([LocalSpace(site, nmax, S, Lambda)] * lattice.nsites)
    return Model("custom", lattice, space, ops.Operator())


def rydberg(lattice, Omega=1.0, Delta=0.0, bonds="nn"):
    """``(Omega/2) sum_i sigma^x_i - Delta sum_i n_i`` on spin-1/2 sites (n_i = S^z_i + 1/2: atom i
    excited) with the Rydberg blockade: no two atoms of a bond of ``bonds`` excited at once.  The
    blockade is a constraint of the basis (only allowed states are kept; ``Omega`` then acts as
    the PXP model's P sigma^x P), not a large interaction."""
    H = ops.Operator()
    for i in range(lattice.nsites):
        if Omega:
            H += Omega * ops.Sx(i)                      # (Omega/2) sigma^x = Omega S^x
        if Delta:
            H += -Delta * (ops.Sz(i) + 0.5)
    model = Model("rydberg", lattice, Space.uniform("spin", lattice.nsites), H)
    pairs = [(i, j) for i, j, _ in _bonds(lattice, bonds, "[model] bonds")]
    model.constraint = blockade(pairs)
    return model


def blockade(pairs):
    """The predicate "no two sites of a pair excited" on packed spin-1/2 states (vectorized over
    states, a loop over the pairs), named for labels and fingerprints."""
    import numpy as np
    left = np.array([i for i, _ in pairs], dtype=np.uint64)
    right = np.array([j for _, j in pairs], dtype=np.uint64)

    def allowed(states):
        ok = np.ones(len(states), dtype=np.bool_)
        one = np.uint64(1)
        for i, j in zip(left, right):
            ok &= ((states >> i) & (states >> j) & one) == 0
        return ok

    allowed.__name__ = f"blockade({len(pairs)} pairs)"
    return allowed
