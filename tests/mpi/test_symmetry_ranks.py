"""Symmetry sectors on 1, 2 and 3 ranks: the distributed matrix (representatives rebalanced
over ranks, columns found by the batched lookup) gives the same eigenvalues as the dense
single-process matrix of the same sector, which tests/test_symmetry.py checks against
independent references.  Real sectors only here (this process's PETSc is real); complex
momenta run through the command line in tests/test_cli.py."""
import numpy as np
import pytest
from mpi4py import MPI
from test_pipeline import all_ok, run

from dense_matrices import symmetric_matrix_dense
from fockmpi.basis.symmetric import SymmetricBasis
from fockmpi.jobfile.table import parse_job
from fockmpi.app.pipeline import build_problem

CASES = [
    ({"type": "heisenberg", "J2": 0.3}, {"type": "chain", "size": [12]}, {"Sz": 0, "momentum": 0, "reflection": 1, "spin_flip": 1}),
    ({"type": "heisenberg", "J2": 0.3}, {"type": "chain", "size": [12]}, {"Sz": 0, "momentum": 6, "reflection": -1, "spin_flip": -1}),
    ({"type": "heisenberg"}, {"type": "square", "size": [4, 3]}, {"Sz": 1, "momentum": [2, 0]}),
    ({"type": "hubbard", "U": 4.0}, {"type": "chain", "size": [6]}, {"N_up": 3, "N_dn": 3, "momentum": 3, "spin_flip": -1}),
    ({"type": "tV", "V": 1.5}, {"type": "chain", "size": [12]}, {"N": 6, "momentum": 0, "reflection": -1}),
    ({"type": "bose_hubbard", "U": 3.0, "nmax": 3}, {"type": "chain", "size": [7]}, {"N": 7, "momentum": 0, "reflection": 1}),
    ({"type": "hubbard", "U": 3.0, "mu": 1.5}, {"type": "chain", "size": [6]},
     {"N_up": 3, "N_dn": 3, "momentum": 0, "particle_hole": -1}),
    ({"type": "tV", "V": 1.0, "mu": 1.0}, {"type": "chain", "size": [10]}, {"N": 5, "particle_hole": 1}),
]


@pytest.mark.parametrize("model, lattice, sector", CASES, ids=[f"{c[0]['type']}-{i}" for i, c in enumerate(CASES)])
def test_ranks_agree_with_the_dense_sector(comm, mpi_tmp_path, model, lattice, sector):
    sections = {"lattice": lattice, "model": model, "sector": sector, "solver": {"nev": 3, "tol": 1e-12}}
    res, _ = run(comm, mpi_tmp_path, sections, f"sym_{model['type']}")
    problem = build_problem(parse_job(sections, path="x.toml", text=""))
    basis = SymmetricBasis(problem.sector, problem.group, MPI.COMM_SELF)
    ref = np.linalg.eigvalsh(symmetric_matrix_dense(problem.compiled, basis, MPI.COMM_SELF))
    k = len(res["eigenvalues"])
    all_ok(comm, res["dimension"] == basis.dim, "dimension")
    all_ok(comm, k >= 3 and np.allclose(res["eigenvalues"], ref[:k], atol=1e-9), f"values {res['eigenvalues']} {ref[:k]}")


@pytest.mark.parametrize("reserve", [True, False], ids=["reserved-arrays", "joined-pieces"])
def test_assembly_in_many_small_chunks(comm, mpi_tmp_path, monkeypatch, reserve):
    # uneven numbers of chunks per rank must still meet in every collective lookup; the
    # blocks are written straight into reserved arrays, or (memory tight) joined from pieces
    from fockmpi.operator import assemble
    monkeypatch.setattr(assemble, "SYMMETRIC_CHUNK_ROWS", 7 + comm.rank)
    if not reserve:
        monkeypatch.setattr(assemble, "_reservable", lambda nbytes, comm: False)
    model, lattice, sector = CASES[0]
    sections = {"lattice": lattice, "model": model, "sector": sector, "solver": {"nev": 3, "tol": 1e-12}}
    res, _ = run(comm, mpi_tmp_path, sections, "sym_chunks")
    problem = build_problem(parse_job(sections, path="x.toml", text=""))
    basis = SymmetricBasis(problem.sector, problem.group, MPI.COMM_SELF)
    ref = np.linalg.eigvalsh(symmetric_matrix_dense(problem.compiled, basis, MPI.COMM_SELF))
    all_ok(comm, np.allclose(res["eigenvalues"][:3], ref[:3], atol=1e-9), "chunked assembly")


@pytest.mark.parametrize("model, lattice, sector", [
    ({"type": "heisenberg"}, {"type": "square", "size": [4, 4]}, {"Sz": 0, "momentum": [0, 0], "point_group": "A1",
                                                                 "spin_flip": 1}),
    ({"type": "heisenberg"}, {"type": "square", "size": [6, 4]}, {"Sz": 0, "momentum": [3, 2], "spin_flip": -1}),
    ({"type": "heisenberg"}, {"type": "triangular", "size": [4, 4]}, {"Sz": 1, "momentum": [2, 0]}),
    ({"type": "tV", "V": 1.0}, {"type": "square", "size": [4, 4]}, {"N": 7, "momentum": [1, 2]}),
    ({"type": "bose_hubbard", "U": 1.0, "nmax": 2}, {"type": "square", "size": [4, 3]}, {"N": 8, "momentum": [2, 1]}),
    ({"type": "heisenberg"}, {"type": "chain", "size": [18]}, {"Sz": 0, "momentum": 0, "reflection": 1,
                                                               "spin_flip": 1}),
    ({"type": "heisenberg"}, {"type": "chain", "size": [20]}, {"Sz": 2, "momentum": 3}),
    ({"type": "heisenberg", "S": 1}, {"type": "chain", "size": [9]}, {"Sz": 0, "momentum": 4}),
    ({"type": "bose_hubbard", "U": 1.0, "nmax": 3}, {"type": "chain", "size": [8]}, {"N": 8, "momentum": 0,
                                                                                     "reflection": -1}),
    ({"type": "tV", "V": 1.0}, {"type": "chain", "size": [14]}, {"N": 7, "momentum": 7}),
    # electrons: numbered and sorted species-major, the window holds the top up modes
    ({"type": "hubbard", "U": 4.0}, {"type": "square", "size": [4, 4]}, {"N_up": 3, "N_dn": 3, "momentum": [1, 2]}),
    ({"type": "hubbard", "U": 4.0}, {"type": "square", "size": [4, 3]}, {"N_up": 4, "N_dn": 4, "momentum": [0, 0],
                                                                         "point_group": "A1"}),
])
def test_the_orbit_scan_skips_only_windows_without_representatives(comm, monkeypatch, model, lattice, sector):
    """The orbit scan skips the U(1) ranges whose top rows an x-translation lowers, or on a
    chain whose top bits a translation lowers (basis.symmetric.candidate_ranges): the basis is
    the one of the whole scan, state by state, and at least half of the U(1) sector was skipped."""
    from fockmpi.basis import symmetric
    from fockmpi.basis.ranking import RankingTables
    problem = build_problem(parse_job({"lattice": lattice, "model": model, "sector": sector}))
    fast = SymmetricBasis(problem.sector, problem.group, comm)
    scanned = sum(b - a for a, b in symmetric.candidate_ranges(RankingTables(problem.sector), fast.group_args))
    monkeypatch.setattr(symmetric, "candidate_ranges", lambda tables, args: [(0, tables.dim)])
    full = SymmetricBasis(problem.sector, problem.group, comm)
    all_ok(comm, fast.dim == full.dim and fast.start == full.start and np.array_equal(fast.states, full.states)
           and np.array_equal(fast.norms, full.norms), f"{lattice}: {fast.dim} against {full.dim} states")
    all_ok(comm, scanned <= 0.5 * fast.u1_dim, f"{lattice}: scanned {scanned} of {fast.u1_dim}")
