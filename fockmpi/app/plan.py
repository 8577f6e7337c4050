"""How big a run is before it runs: non-zeros per row from a sample of rows, memory per rank
for the stored matrix (MPIAIJ), its upper triangle and the matrix-free operator, the
solver's vectors, and the choice ``[solver] storage = "auto"`` makes from them.

All figures are bytes per rank.  The stored matrix costs ``nnz * (index + scalar)`` plus two
row pointers per row; its upper triangle ``(nnz + rows) / 2`` entries and two ghost amplitudes
(in and out) per column of another rank; the matrix-free operator costs its ghost list (at most the number of
distinct remote columns, bounded by the sector outside this rank: estimated here as the
remote share of the row's entries, ``16 + 23`` bytes each with the hash slot).  The solver
keeps ``ncv`` vectors of the local size plus a few work vectors; the basis 8 bytes a state
(16 with the norms of a symmetric basis).  ``BASELINE`` is what Python, numba's loaded kernels, PETSc and SLEPc take
before any of it (measured: the peak of a run of 70 states, 194 MiB, warm JIT cache; the
first run after an update compiles the kernels, ~150 MiB more for a few seconds, once).
The solver's vectors are its subspace plus what Krylov-Schur, the multiplet check and the
returned eigenvectors add: ``ncv + 8 + 2 nev`` vectors (measured on the L = 22 ring: 21.5
vectors of the local size for nev = 1, ncv = 12).  scaling/check_plan.py holds these
estimates against measured peaks.
"""
import math
from dataclasses import dataclass

import numpy as np

from .. import kernels
from ..basis.ranking import RankingTables
from ..basis.u1 import U1Basis
from ..parallel import ranks_on_this_node


BASELINE = 195 * 2 ** 20  # bytes per rank of the interpreter, numba and PETSc/SLEPc themselves

SAMPLE_ROWS = 2000

LOOKUP = "lookup table (until assembled)"

AUTO_SHARE = 0.7  # storage = "auto" stores the matrix when all of it fits in this share of memory


def sample_rows(basis, samples=SAMPLE_ROWS):
    """Positions of up to ``samples`` of this rank's rows, spread evenly.  Not collective."""
    n = basis.local_size
    return np.unique(np.linspace(0, n - 1, min(n, samples)).astype(np.int64)) if n else np.zeros(0, dtype=np.int64)


def row_lengths(compiled, basis, comm, index_t=np.int32, scalar_t=None):
    """Mean stored entries per row and the share of them in columns another rank owns, from a
    sample of rows.  Collective for enumerated bases (every rank samples its own rows); a U(1)
    basis takes the same sample of the sector on every rank (:func:`_sample_u1_rows`).

    ``index_t`` and ``scalar_t`` (default: the operator's) should be those the assembly will
    use: the kernels then run in the specialization the assembly loads anyway (each further
    one costs ~0.1 s of loading from numba's cache per process)."""
    scalar_t = compiled.dtype if scalar_t is None else np.dtype(scalar_t)
    if isinstance(basis, U1Basis):
        return _sample_u1_rows(compiled, basis.tables, comm.size, index_t=index_t, scalar_t=scalar_t)
    from ..operator.assemble import group_arrays
    rows = sample_rows(basis)
    bound = compiled.max_row_length()
    ptr = np.zeros(len(rows) + 1, dtype=np.int64)
    st = np.empty(len(rows) * bound, dtype=np.uint64)
    val = np.empty(len(rows) * bound, dtype=scalar_t)
    kernels.build_symmetric_rows(basis.states[rows], basis.norms[rows], True, False, compiled.terms(scalar_t),
                                 group_arrays(basis, scalar_t), ptr, st, val)
    owners = np.searchsorted(basis.bounds, st[:ptr[-1]], side="right") - 1
    local = np.count_nonzero(owners == comm.rank)
    total = comm.allreduce(np.array([local, len(owners) - local, len(rows)], dtype=float))
    return (total[0] + total[1]) / max(1.0, total[2]), total[1] / max(1.0, total[0] + total[1])


def stored_bytes(per_row, local_rows, index_bytes, scalar_bytes):
    """Bytes of this rank's MPIAIJ blocks for ``per_row`` entries a row."""
    return per_row * local_rows * (index_bytes + scalar_bytes) + 2 * (local_rows + 1) * index_bytes


def upper_bytes(per_row, local_rows, index_bytes, scalar_bytes, remote_share=0.0, dim=0):
    """Bytes of the upper triangle (diagonal included) on the rank that holds most of it, and
    its ghost buffers (two vectors and two scatter buffers per column of another rank it
    reaches).  The first rank keeps half of its own block's entries but every entry in
    columns of other ranks (they all lie right of its rows): ``(1 - r) (per_row + 1) / 2 +
    r per_row`` per row for a share ``r`` of entries in other ranks' columns (6x6 sector, 2
    ranks: 2.17 GB measured on the first rank against 1.85 GB for an even half)."""
    kept = (1 - remote_share) * (per_row + 1) / 2 + remote_share * per_row
    ghosts = min(per_row * remote_share * local_rows, max(0, dim - local_rows))
    return stored_bytes(kept, local_rows, index_bytes, scalar_bytes) + 4 * scalar_bytes * ghosts


def shell_bytes(per_row, remote_share, local_rows, dim):
    """Bytes of the matrix-free operator's ghosts (index, amplitude, hash slot) on this rank."""
    ghosts = min(per_row * remote_share * local_rows, max(0, dim - local_rows))
    return 39.0 * ghosts


def solver_vectors(ncv, nev, dim):
    """Vectors of the local size the solver holds (see the module's text)."""
    return min(ncv, dim) + 8 + 2 * nev


def solver_bytes(settings, local_rows, scalar_bytes, dim):
    """Bytes of the solver's subspace and work vectors on this rank."""
    from ..solvers.eigen import default_ncv
    return solver_vectors(settings.ncv or default_ncv(settings.nev), settings.nev, dim) * local_rows * scalar_bytes


def auto_order(enumerated, one_node):
    """The storages ``"auto"`` tries, in order.

    Stored matrices first; on an enumerated basis (symmetry sector, constraint) whose ranks
    share one node, the upper triangle before the whole matrix: its assembly skips the
    representative search of every entry left of the diagonal (about half of it), and on one
    node, where the ranks share the memory bus, its product (half the bytes, each read once) is
    as fast (docs/benchmarks.md, 2026-12-05: 4x4 Hubbard 6+6 and 6x6 Heisenberg Sz = 6).
    Across nodes the whole matrix stays first: the triangle sends ghosts both ways and its
    first ranks hold more of it.
    """
    if enumerated and one_node:
        return ("upper", "aij", "shell")
    return ("aij", "upper", "shell")


def choose_storage(settings, compiled, basis, comm, PETSc, available_per_rank):
    """``"aij"``, ``"upper"`` or ``"shell"`` for ``settings.storage`` (``"auto"``: the first of
    :func:`auto_order` whose matrix, with the basis and the solver's vectors, fits in
    ``AUTO_SHARE`` of the memory per rank), with the estimate that decided.  Collective."""
    if settings.storage != "auto":
        return settings.storage, None
    index_bytes = np.dtype(PETSc.IntType).itemsize
    scalar_bytes = np.dtype(PETSc.ScalarType).itemsize
    per_row, remote = row_lengths(compiled, basis, comm, PETSc.IntType, PETSc.ScalarType)
    n = comm.allreduce(basis.local_size, op=_max())
    stored = stored_bytes(per_row, n, index_bytes, scalar_bytes)
    rest = BASELINE + basis.states.nbytes * 2 + solver_bytes(settings, n, scalar_bytes, basis.dim)
    budget = None if available_per_rank is None else AUTO_SHARE * available_per_rank
    upper = upper_bytes(per_row, n, index_bytes, scalar_bytes, remote, basis.dim)
    order = auto_order(not isinstance(basis, U1Basis), ranks_on_this_node(comm) == comm.size)
    matrix = {"aij": stored, "upper": upper, "shell": 0}
    storage = next(s for s in order if s == "shell" or budget is None or matrix[s] + rest <= budget)
    return storage, {"stored_bytes": stored, "upper_bytes": upper, "other_bytes": rest, "per_row": per_row,
                     "available_bytes": available_per_rank}


def _max():
    from mpi4py import MPI
    return MPI.MAX


# --- the planner: estimates before any basis exists ------------------------------------------
@dataclass
class Estimate:
    """What a job will need on ``ranks`` ranks, before it runs.  All memory in bytes per rank."""

    dimension: int
    exact: bool          # False: a symmetric dimension estimated as U(1) dimension / group order
    u1_dimension: int
    ranks: int
    per_row: float       # stored entries per row (sampled)
    remote_share: float  # share of a row's entries in columns of other ranks (sampled)
    scalar_bytes: int
    index_bytes: int
    symmetric: bool
    nev: int
    ncv: int
    direct_ci: dict = None  # FCIDUMP on the direct-CI operator: beta strings, orbital pairs, ...

    @property
    def local_rows(self):
        return -(-self.dimension // self.ranks)

    storages = ("aij", "upper", "shell")  # (in the order "auto" tries them)

    def parts(self, storage):
        """Memory per rank by part, for ``storage`` "aij", "upper" or "shell" (or "direct": the
        direct-CI operator of an FCIDUMP model)."""
        n = self.local_rows
        if storage == "direct":
            return self._direct_parts(n)
        out = {"runtime (Python, numba, PETSc)": BASELINE,
               "basis": n * (8 + (8 if self.symmetric else 0))}  # states (+ norms)
        if self.symmetric:
            out[LOOKUP] = n * 32  # the hash table of the basis' states
        if storage == "aij":
            out["matrix"] = stored_bytes(self.per_row, n, self.index_bytes, self.scalar_bytes)
        elif storage == "upper":
            out["matrix"] = upper_bytes(self.per_row, n, self.index_bytes, self.scalar_bytes,
                                         self.remote_share, self.dimension)
        else:
            out["ghost amplitudes"] = shell_bytes(self.per_row, self.remote_share, n, self.dimension)
        vectors = solver_vectors(self.ncv, self.nev, self.dimension)
        out[f"solver vectors ({vectors})"] = vectors * n * self.scalar_bytes
        from ..solvers.eigen import DENSE_LIMIT
        if self.dimension <= max(DENSE_LIMIT, 2 * self.nev + 8):
            out["dense fallback"] = 3 * self.dimension ** 2 * self.scalar_bytes
        return out

    def _direct_parts(self, n):
        from ..operator.direct_ci import BLOCK_BYTES
        d = self.direct_ci
        vectors = 2 * (max(12, 3 * self.nev) + self.nev) + 4  # Davidson's space, its image, work
        # ghost rows: the alpha strings one excitation from this rank's, dense over every beta
        # string, for c and sigma, plus their compact copy (on few ranks: the whole vector)
        ghosts = min(d["alpha_strings"], -(-d["alpha_strings"] // self.ranks) * (d["singles"] + 1))
        return {"runtime (Python, numba, PETSc)": BASELINE,
                "determinants (+ their hash for <S^2>)": n * 48,
                "ghost rows (dense c and sigma, compact copy)": 3 * ghosts * d["beta_strings"] * self.scalar_bytes,
                "D and G blocks": BLOCK_BYTES,
                f"Davidson vectors ({vectors})": vectors * n * self.scalar_bytes}

    def total(self, storage):
        """Peak bytes per rank.  A stored matrix's lookup table is dropped before the solver's
        vectors exist (app.solve.build_operator), so only the larger of the two counts; the
        matrix-free operator keeps it for every product."""
        parts = self.parts(storage)
        total = sum(parts.values())
        if storage in ("aij", "upper") and LOOKUP in parts:
            vectors = next(v for k, v in parts.items() if k.startswith("solver vectors"))
            total -= min(parts[LOOKUP], vectors)
        return total

    def nodes(self, storage, memory_per_node, cores_per_node):
        """Nodes this job needs: enough cores for the ranks and memory for their parts."""
        by_cores = math.ceil(self.ranks / max(1, cores_per_node))
        by_memory = math.ceil(self.ranks * self.total(storage) / (AUTO_SHARE * memory_per_node))
        return max(1, by_cores, by_memory)


def is_enumerated(problem):
    """True when the basis is a list of allowed states (Gauss's law, a constraint, a parity) rather
    than a whole U(1) sector."""
    return problem.gauss is not None or problem.constraint is not None or bool(problem.sector.parities)


def upper_dimension(problem):
    """An upper bound of the basis dimension without building it (Python int): the U(1)
    dimension, or for Gauss's law the matter sector's times the free boundary fields.  Not
    collective."""
    if problem.gauss is None:
        return RankingTables(problem.sector).dim
    from ..basis.gauss import _matter_sector
    matter = RankingTables(_matter_sector(problem.sector, problem.gauss.nsites)).dim
    return matter * (max(s.dim for s in problem.space.sites[problem.gauss.nsites:]) if problem.gauss.periodic else 1)


def _enumerated_estimate(problem, ranks, count):
    """(dimension, exact, entries per row, remote share) of an enumerated basis: counted on one
    rank when ``count`` (at most ~5e7 states scanned), else its upper bound; rows bounded by the
    operator's monomials (no ranking to sample them with)."""
    bound = upper_dimension(problem)
    dim, exact = bound, False
    if count:
        from mpi4py import MPI

        from ..basis.make import make_basis
        dim, exact = make_basis(problem.sector, problem.group, MPI.COMM_SELF, gauss=problem.gauss,
                                constraint=problem.constraint).dim, True
    return dim, exact, float(problem.compiled.max_row_length()), 0.5 if ranks > 1 else 0.0


def estimate(problem, ranks, count_symmetric=False):
    """:class:`Estimate` of ``problem`` on ``ranks`` ranks.  Not collective (serial work only).

    The U(1) dimension is exact (ranking tables); a symmetric one is counted by an orbit scan
    when ``count_symmetric`` (one rank, ~1e7 states a second), else estimated as U(1) dimension /
    group order (exact up to the few states with a smaller orbit).  Entries per row and their
    remote share come from up to ``SAMPLE_ROWS`` rows spread over the U(1) sector, each row's
    owner taken as in a block split over ``ranks``.
    """
    group = problem.group
    if direct_ci(problem):
        return _direct_ci_estimate(problem, ranks)
    if is_enumerated(problem):
        dim, exact, per_row, remote = _enumerated_estimate(problem, ranks, count_symmetric)
        return _estimate(problem, ranks, dim, exact, upper_dimension(problem), per_row, remote)
    tables = RankingTables(problem.sector)
    u1 = tables.dim
    dim, exact = u1, True
    if group is not None:
        if count_symmetric:
            from mpi4py import MPI

            from ..basis.symmetric import SymmetricBasis
            dim = SymmetricBasis(problem.sector, group, MPI.COMM_SELF).dim
        else:
            dim, exact = max(1, u1 // group.order), False
    per_row, remote = _sample_u1_rows(problem.compiled, tables, ranks)
    return _estimate(problem, ranks, dim, exact, u1, per_row, remote)


def _direct_ci_estimate(problem, ranks):
    """:class:`Estimate` of an FCIDUMP job on the direct-CI operator: the determinants counted
    from the strings' irreps (no states made), memory from the strings and orbital pairs."""
    from ..basis.determinants import binomial_table, combinations, string_irreps
    orbitals, sector = problem.orbitals, problem.sector
    norb = problem.space.nsites
    na, nb = int(sector.internal["N_up"]), int(sector.internal["N_dn"])
    binom = binomial_table(norb)
    count_a, count_b = int(binom[norb, na]), int(binom[norb, nb])
    if orbitals.orbsym is None:
        dim = count_a * count_b
    else:
        sym = np.asarray(orbitals.orbsym, dtype=np.int64) - 1
        ia = np.bincount(string_irreps(combinations(norb, na, count_a), sym), minlength=8)
        ib = np.bincount(string_irreps(combinations(norb, nb, count_b), sym), minlength=8)
        target = orbitals.irrep - 1
        dim = int(sum(int(ia[j]) * int(ib[j ^ target]) for j in range(8)))
    settings = problem.solver
    return Estimate(dim, True, count_a * count_b, ranks, 0.0, 0.0, 8, 4, False, settings.nev, settings.ncv,
                    direct_ci={"alpha_strings": count_a, "beta_strings": count_b,
                               "singles": na * (norb - na), "pairs": norb * (norb + 1) // 2})


def _estimate(problem, ranks, dim, exact, u1, per_row, remote):
    group = problem.group
    real = problem.compiled.is_real and (group is None or group.is_real)
    from ..solvers.eigen import default_ncv
    solver = problem.solver
    return Estimate(dimension=int(dim), exact=exact, u1_dimension=int(u1), ranks=int(ranks), per_row=per_row,
                    remote_share=remote, scalar_bytes=8 if real else 16, index_bytes=4 if dim < 2 ** 31 else 8,
                    symmetric=group is not None or is_enumerated(problem), nev=solver.nev, ncv=solver.ncv or default_ncv(solver.nev))


def _sample_u1_rows(compiled, tables, ranks, samples=SAMPLE_ROWS, run=16, index_t=np.int32, scalar_t=None):
    """(entries per row, remote share) from a sample of U(1) rows: ``samples // run`` runs of
    ``run`` consecutive rows spread over the sector (one unranking per run), each run's
    columns split by the block of ``ranks`` that owns its first row.  Not collective."""
    dim = tables.dim
    starts = np.unique(np.linspace(0, max(0, dim - run), max(1, samples // run)).astype(np.int64))
    bounds = np.array([(dim * p) // ranks for p in range(ranks + 1)], dtype=np.int64)
    scalar_t = compiled.dtype if scalar_t is None else np.dtype(scalar_t)
    z, zv = np.zeros(0, dtype=index_t), np.zeros(0, dtype=scalar_t)
    terms, look = compiled.terms(scalar_t), tables.args()
    inside = outside = rows = 0
    for a in starts:  # a bounded sample, not the basis
        states = tables.states(int(a), int(min(run, dim - a)))
        owner = int(np.searchsorted(bounds, a, side="right") - 1)
        cd = np.zeros(len(states) + 1, dtype=index_t)  # (a run's counts fit any index width)
        co = np.zeros(len(states) + 1, dtype=index_t)
        kernels.build_rows(states, np.int64(a), np.int64(bounds[owner]), np.int64(bounds[owner + 1]), kernels.COUNT,
                           True, terms, look, cd, z, zv, co, z, zv)
        inside += cd[1:].sum()
        outside += co[1:].sum()
        rows += len(states)
    total = inside + outside
    return total / max(1, rows), outside / max(1, total)


def direct_ci(problem):
    """Whether ``problem`` runs on the direct-CI operator (an FCIDUMP model, whose compiled
    terms wait for a stage that asks; storage "auto" or "direct"): the sampled rows do not
    apply to it."""
    return getattr(type(problem.compiled), "serves_direct_ci", False) and problem.solver.storage in ("auto", "direct")


def recommend(est, memory_per_node, cores_per_node):
    """(storage, nodes, ranks per node): the storage that needs the fewest nodes (the first of
    :func:`auto_order` when equal: stored products are far faster than matrix-free ones)."""
    if est.direct_ci is not None:
        nodes = est.nodes("direct", memory_per_node, cores_per_node)
        return "direct", nodes, -(-est.ranks // nodes)
    nodes = {s: est.nodes(s, memory_per_node, cores_per_node) for s in est.storages}
    order = auto_order(est.symmetric, nodes["upper"] == 1)
    storage = min(order, key=lambda s: nodes[s])  # (the first of the fewest)
    return storage, nodes[storage], -(-est.ranks // nodes[storage])


def fit_problem(est, storage, available_per_rank):
    """A :class:`CapacityError` when ``storage`` ("aij", "upper", "shell" or "auto") does not fit in
    ``available_per_rank`` bytes, with the numbers and the fix; None when it fits."""
    from ..errors import CapacityError
    if available_per_rank is None:
        return None
    gib = 2 ** 30
    if storage == "direct":
        need = est.total("direct")
        if need <= available_per_rank:
            return None
        return CapacityError(
            f"the direct-CI operator needs ~{need / gib:.3g} GiB per rank on {est.ranks} rank(s) ({est.dimension} "
            f"determinants: ghost rows, Davidson's vectors), but {available_per_rank / gib:.3g} GiB are available per "
            "rank on this node; use more ranks on more nodes (`fockmpi plan`; --force runs anyway)")
    shell = est.total("shell")
    if storage in ("aij", "upper") and est.total(storage) > available_per_rank:
        stored = est.total(storage)
        fitting = [s for s in est.storages if s != storage and est.total(s) <= available_per_rank]
        alt = (f"storage = \"{fitting[0]}\" needs ~{est.total(fitting[0]) / gib:.3g} GiB per rank" if fitting
               else "more ranks on more nodes")
        what = "the stored matrix" if storage == "aij" else "the stored upper triangle"
        return CapacityError(
            f"{what} needs ~{stored / gib:.3g} GiB per rank on {est.ranks} rank(s) (dimension "
            f"{'' if est.exact else '~'}{est.dimension}, ~{est.per_row:.1f} entries per row), but "
            f"{available_per_rank / gib:.3g} GiB are available per rank on this node; use {alt}, or run "
            "`fockmpi plan` for a layout (--force runs anyway)")
    if storage in ("shell", "auto") and shell > available_per_rank:
        return CapacityError(
            f"even the matrix-free operator needs ~{shell / gib:.3g} GiB per rank on {est.ranks} rank(s) "
            f"(dimension {'' if est.exact else '~'}{est.dimension}: basis, ghosts and the solver's vectors), but "
            f"{available_per_rank / gib:.3g} GiB are available per rank on this node; use more ranks on more "
            "nodes (`fockmpi plan` says how many; --force runs anyway)")
    return None
