"""One sector from Python, in one call: model -> basis -> operator -> eigenpairs, no job file and
no results file (what a notebook uses; the pipeline takes the same steps for a job)::

    import fockmpi
    lattice = fockmpi.make_lattice("chain", [8])
    model = fockmpi.models.hubbard(lattice, t=1, U=4)
    found = fockmpi.solve(model, {"N_up": 4, "N_dn": 4}, symmetries={"momentum": 0}, nev=2)
    found.eigenvalues

Collective on the runtime's communicator (COMM_WORLD unless a :class:`~fockmpi.runtime.Runtime`
is given): under ``mpirun`` every rank calls it with the same arguments.
"""
import dataclasses
from dataclasses import dataclass

import numpy as np

from ..basis.ranking import RankingTables
from ..basis.sector import Sector
from ..basis.make import make_basis
from ..errors import SectorError, StackError
from ..operator.compile import check_gauss_law, compile_operator
from ..parallel import available_memory_bytes, collective_errors, print0, ranks_on_this_node, release_free_memory
from ..runtime import Runtime, check_index_width
from ..solvers.eigen import SolverSettings
from ..solvers.eigen import solve as solve_eigenpairs
from ..symmetry.group import SymmetryGroup
from ..symmetry.invariance import check_invariance, check_sector_preserved
from ..symmetry.lattice import lattice_cells
from ..symmetry.sectors import symmetry_sectors


@dataclass
class Solution:
    """What :func:`solve` found in one sector.

    eigenvalues, residuals : ndarray (energies in the units of the model's couplings)
    vectors : list of ndarray, each eigenvector's slice on this rank, in the order of ``basis``
    basis : the basis (its ``states``, ``start``, ``dim``; norms for a symmetry sector)
    sector : str, the sector's label;  storage : "aij" or "shell"
    """

    eigenvalues: np.ndarray
    residuals: np.ndarray
    vectors: list
    basis: object
    sector: str
    storage: str


def sample_states(sector, count=4):
    """A few states of the sector (to fix the signs with which particle-hole combines)."""
    tables = RankingTables(sector)
    if tables.dim == 0:
        return None
    idx = np.unique(np.linspace(0, tables.dim - 1, count).astype(np.int64))
    return np.concatenate([tables.states(int(i), 1) for i in idx])


def symmetry_group(model, sector, **labels):
    """The group of one symmetry sector of ``model`` (keywords of
    :func:`~fockmpi.symmetry.sectors.symmetry_sectors`: momentum, reflection, point_group_irrep,
    spin_flip, particle_hole, permutations), checked: H commutes with every generator and they
    keep the U(1) sector.  None without labels.  Not collective."""
    choices = symmetry_sectors(model.lattice, **labels)
    if len(choices) != 1:
        raise SectorError(f"'all' asks for {len(choices)} sectors; solve one at a time (symmetry_sectors(...) "
                          "lists them) or use a job file, which solves them all")
    return sector_groups(model.lattice, model.space, model.hamiltonian, sector, choices)[0]


def _on_layers(generator, layers, n):
    """A lattice generator acting on every layer of a space with ``layers`` sites per lattice site."""
    if layers == 1 or generator.permutation is None:
        return generator
    perm = tuple(k * n + int(p) for k in range(layers) for p in generator.permutation)
    eta = None if generator.eta is None else tuple(generator.eta) * layers
    return dataclasses.replace(generator, permutation=perm, eta=eta)


def sector_groups(lattice, space, hamiltonian, sector, choices):
    """The :class:`~fockmpi.symmetry.group.SymmetryGroup` of every sector in ``choices`` (lists
    of generators, as :func:`~fockmpi.symmetry.sectors.symmetry_sectors` gives them; None for an
    empty list), checked once for all: H commutes with every generator and they keep the U(1)
    sector.  Not collective.

    With several choices ("all"), a combination of labels that names no sector is reduced:
    where a mirror does not fix the momentum the sector is labelled by the momentum and the
    other labels alone; where particle-hole anticommutes with a translation (it shifts the
    momentum by pi), without it too.  Each reduced sector is listed once.
    """
    layers = space.nsites // lattice.nsites  # (a Model checks that it divides)
    choices = [[_on_layers(g, layers, lattice.nsites) for g in gens] for gens in choices]
    distinct = {(g.name, g.permutation, g.spin_flip): g for gens in choices for g in gens}
    check_sector_preserved(sector, list(distinct.values()))
    check_invariance(hamiltonian, list(distinct.values()), space)
    samples = sample_states(sector) if any(g.particle_hole for g in distinct.values()) else None

    def make(gens):
        # the kernels' fast translations assume the lattice's own sites; layers use the tables
        return SymmetryGroup(space.nsites, gens, lattice_cells(lattice) if layers == 1 else None, space, samples)

    groups, seen = [], set()
    for gens in choices:
        try:
            groups.append(make(gens) if gens else None)
        except SectorError:
            if len(choices) == 1:
                raise
            for drop in (("mirror",), ("mirror", "particle_hole")):
                reduced = [g for g in gens if not ((g.irrep is not None or g.name == "reflection") or
                                                   ("particle_hole" in drop and g.particle_hole))]
                key = tuple((g.name, str(g.value)) for g in reduced)
                try:
                    group = make(reduced)
                except SectorError:
                    continue
                if key not in seen:
                    seen.add(key)
                    groups.append(group)
                break
    return groups


class DeferredCompile:
    """The compiled Hamiltonian of an FCIDUMP model, compiled only when a stage asks for its
    terms: the direct-CI operator works from the integrals and never does, and compiling the
    generic terms costs ~25 s for 13 orbitals (32 709 terms).  FCIDUMP integrals are real."""

    is_real = True
    dtype = np.dtype(np.float64)
    serves_direct_ci = True  # (the planner's test, app/plan.direct_ci)

    def __init__(self, model, sector):
        self._args = (model.hamiltonian, model.space, sector.names, sector.parities)
        self._compiled = None

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        if self._compiled is None:
            H, space, names, parities = self._args
            self._compiled = compile_operator(H, space, names, parities=parities)
        return getattr(self._compiled, name)


def compile_model(model, sector):
    """The model's Hamiltonian compiled for ``sector``, checked: it conserves the sector's charges
    and parities and, for a gauge theory, Gauss's law (an FCIDUMP model whose sector gets the
    determinant basis: :class:`DeferredCompile`).  Not collective."""
    from ..basis.make import determinants_apply
    if model.sector_rule is not None:
        model.sector_rule(sector)
    if model.orbitals is not None and determinants_apply(sector, None):
        return DeferredCompile(model, sector)
    compiled = compile_operator(model.hamiltonian, model.space, sector.names, parities=sector.parities)
    if model.gauss is not None:
        check_gauss_law(model.hamiltonian, model.space, model.gauss)
    return compiled


def _balance(compiled, settings, basis, comm, PETSc, quiet):
    """Cut the basis between ranks by the product's non-zeros (``settings.balance = "nnz"``,
    :mod:`fockmpi.operator.balance`), once: the first operator built on a basis settles its
    cuts.  Returns ``(estimated nnz imbalance before, after)`` or None.  Collective."""
    if settings.balance != "nnz":
        return None
    from ..operator.balance import balance_rows
    found = balance_rows(compiled, basis, comm, np.dtype(PETSc.ScalarType))  # (once per basis)
    if found is not None and not quiet:
        states = np.diff(basis.offsets)
        print0(comm, f"  balance: non-zeros per rank max/mean {found[0]:.3f} -> {found[1]:.3f} (estimated), states "
                     f"{states.max() / states.mean():.3f}")
    return found


def build_operator(compiled, settings, basis, comm, PETSc, quiet=False, orbitals=None):
    """H on ``basis`` as the stored matrix or the matrix-free operator, as ``settings.storage``
    says (``"auto"``: stored when it fits this node's memory, :func:`fockmpi.app.plan.choose_storage`;
    for an FCIDUMP model on its determinant basis, given its ``orbitals``: the direct-CI
    operator, :mod:`fockmpi.operator.direct_ci`).  Collective."""
    from ..basis.determinants import DeterminantBasis
    if orbitals is not None and isinstance(basis, DeterminantBasis) and settings.storage in ("auto", "direct"):
        from ..operator.direct_ci import DirectCIOperator
        op = DirectCIOperator(orbitals.dump, basis, comm, PETSc)
        if not quiet:
            print0(comm, f"  operator: direct CI (integrals by blocks), {len(op.rounds)} round(s) per product, "
                         f"{op.bytes_local / 2**20:.0f} MiB per rank")
        return op
    if settings.storage == "direct":
        from ..errors import ConfigError
        raise ConfigError("[solver] storage", "\"direct\" (the direct-CI operator) only for an FCIDUMP model in a "
                          "sector of fixed N_up and N_dn without symmetries", "another model or sector")
    balanced = _balance(compiled, settings, basis, comm, PETSc, quiet)
    from .plan import choose_storage
    available = available_memory_bytes()
    share = available / ranks_on_this_node(comm) if available else None
    storage, estimate = choose_storage(settings, compiled, basis, comm, PETSc, share)
    if storage == "shell":
        from ..operator.shell import ShellOperator
        op = ShellOperator(compiled, basis, comm, PETSc)
        if not quiet:
            why = (f" (the stored matrix would need ~{estimate['stored_bytes'] / 2**30:.3g} GiB per rank of the "
                   f"{share / 2**30:.3g} GiB available)" if estimate else "")
            print0(comm, f"  operator: matrix-free{why}, {comm.allreduce(op.nghosts)} ghost amplitudes in all")
    else:
        from ..operator.assemble import assemble_hamiltonian
        if storage == "upper" and estimate and not quiet:
            print0(comm, f"  operator: the upper triangle only (~{estimate['upper_bytes'] / 2**30:.3g} GiB per "
                         f"rank; the whole matrix would need ~{estimate['stored_bytes'] / 2**30:.3g} GiB of the "
                         f"{share / 2**30:.3g} GiB available)")
        op = assemble_hamiltonian(compiled, basis, comm, PETSc, show_progress=not quiet,
                                  symmetric_storage=storage == "upper")
    op.storage = storage
    op.balance = balanced
    if hasattr(basis, "release_lookup"):  # the solve needs no lookups (observables rebuild it)
        basis.release_lookup()
        release_free_memory()
    return op


_STARTED = []  # the runtime solve() started (a process loads one PETSc build)


def _default_runtime(real):
    if not _STARTED:
        _STARTED.append(Runtime.start("real" if real else "complex"))
    return _STARTED[0]


def solve(model, charges, symmetries=None, nev=1, runtime=None, quiet=True, **solver):
    """Lowest eigenpairs of ``model`` in one sector.  Collective on ``runtime.comm``.

    Parameters
    ----------
    model : Model (``fockmpi.models.hubbard(lattice, t=1, U=4)``, ...)
    charges : dict of the conserved charges (``{"Sz": 0}``, ``{"N_up": 4, "N_dn": 4}``, ``{"N": 3}``)
        or a :class:`~fockmpi.basis.sector.Sector`
    symmetries : None, a dict of lattice-symmetry labels (``{"momentum": 0, "reflection": 1,
        "spin_flip": 1}``; keywords of :func:`~fockmpi.symmetry.sectors.symmetry_sectors`), or
        a :class:`~fockmpi.symmetry.group.SymmetryGroup`
    nev : int, eigenpairs wanted (for nev > 1 a degenerate multiplet at the cut comes whole:
        ``complete_multiplets = "auto"``; pass True to have it at nev = 1 too)
    runtime : Runtime or None (the first call starts one on COMM_WORLD, real or complex as its problem
        needs, and later calls reuse it: for complex sectors after real ones, pass a complex runtime)
    quiet : bool, no progress lines
    solver : further keywords of :class:`~fockmpi.solvers.eigen.SolverSettings` (which, tol,
        method, ncv, storage = "auto" | "aij" | "shell", ...)

    Returns
    -------
    Solution
    """
    sector = charges if isinstance(charges, Sector) else Sector(model.space, dict(charges))
    if isinstance(symmetries, SymmetryGroup) or symmetries is None:
        group = symmetries
    else:
        group = symmetry_group(model, sector, **symmetries)
    settings = SolverSettings(nev=nev, **solver)
    compiled = compile_model(model, sector)
    real = compiled.is_real and (group is None or group.is_real)
    rt = runtime if runtime is not None else _default_runtime(real)
    comm = rt.comm
    if not real and not rt.is_complex:
        raise StackError("this sector needs complex numbers (complex couplings or momentum characters), but the "
                         "PETSc of this process is real: a process loads one PETSc, so start "
                         "rt = fockmpi.Runtime.start(\"complex\") before the first solve and pass runtime=rt")
    with collective_errors(comm):
        basis = make_basis(sector, group, comm, show_progress=not quiet, gauss=model.gauss,
                           constraint=model.constraint, orbitals=model.orbitals)
        check_index_width(basis.dim)
    op = build_operator(compiled, settings, basis, comm, rt.PETSc, quiet, orbitals=model.orbitals)
    try:
        pairs = solve_eigenpairs(op, settings, comm, rt.PETSc, rt.SLEPc, show_progress=not quiet)
    finally:
        op.destroy()
    label = sector.label() + (f",{group.label()}" if group is not None else "")
    return Solution(pairs.values, pairs.residuals, pairs.vectors, basis, label, op.storage)
