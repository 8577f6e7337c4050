"""Solver settings on 1-3 ranks: every method, which = largest/target, option pass-through."""
import numpy as np
import pytest
from test_pipeline import all_ok, dense_heisenberg_chain, run

L = 10
D, M = dense_heisenberg_chain(L, 0.2)
REF = D.sector_eigvals(M, Sz=0)
MODEL = {"lattice": {"type": "chain", "size": [L]}, "model": {"type": "heisenberg", "J2": 0.2},
         "sector": {"Sz": 0}}


@pytest.mark.parametrize("method", ["krylovschur", "lanczos", "lobpcg", "jd", "davidson"])
def test_every_method_finds_the_lowest_levels(comm, mpi_tmp_path, method):
    res, _ = run(comm, mpi_tmp_path, dict(MODEL, solver={"nev": 3, "method": method, "tol": 1e-10}), method)
    k = len(res["eigenvalues"])
    all_ok(comm, k >= 3 and np.allclose(res["eigenvalues"], REF[:k], atol=1e-8), f"{method} values")


def test_largest(comm, mpi_tmp_path):
    res, _ = run(comm, mpi_tmp_path, dict(MODEL, solver={"nev": 2, "which": "largest", "tol": 1e-10}), "largest")
    all_ok(comm, np.allclose(res["eigenvalues"][:2], REF[::-1][:2], atol=1e-8), "largest values")


def test_target(comm, mpi_tmp_path):
    target = 0.5 * (REF[10] + REF[11]) + 0.1 * (REF[11] - REF[10])  # nearest is REF[11]
    res, _ = run(comm, mpi_tmp_path, dict(MODEL, solver={"nev": 1, "which": "target", "target": float(target),
                                                          "tol": 1e-10}), "target")
    all_ok(comm, abs(res["eigenvalues"][0] - REF[11]) < 1e-8, "target value")


def test_petsc_options_pass_through(comm, mpi_tmp_path):
    # a one-iteration limit must make the solve fail: proof that the option reached SLEPc
    from fockmpi.errors import ConvergenceError
    with pytest.raises(ConvergenceError, match="max_it"):
        run(comm, mpi_tmp_path, dict(MODEL, solver={"nev": 1, "options": {"eps_max_it": 1}}), "opts")
    comm.Barrier()


def test_the_subspace_shrinks_to_the_memory_left(comm, mpi_tmp_path, monkeypatch):
    """With the default subspace (nev + 11 vectors) not fitting in the memory left, the solve
    uses what fits, says so, and still finds the lowest levels; the rule by itself on made-up
    numbers."""
    from fockmpi.solvers import eigen
    vec = 1000 * 8
    room = lambda vectors: vectors * vec / 0.9  # noqa: E731 - memory for that many vectors
    assert eigen.subspace_for_memory(1, 12, 1000, 8, comm, room(12 + 6)) is None  # fits
    assert eigen.subspace_for_memory(1, 12, 1000, 8, comm, room(8 + 6)) == 8
    assert eigen.subspace_for_memory(1, 12, 1000, 8, comm, room(3 + 6)) is None  # below nev + 3: left alone
    local = 252 // comm.size + 1  # the L = 10 sector's largest slice (vectors of that length)
    tight = (8 + 6 + 0.5) * local * 8 / 0.9  # room for 8 (+ 6 more: work, the pair, its copy)
    monkeypatch.setattr("fockmpi.parallel.available_memory_bytes", lambda: tight * comm.size)
    res, _ = run(comm, mpi_tmp_path, dict(MODEL, solver={"nev": 1, "tol": 1e-10}), "tight")
    all_ok(comm, abs(res["eigenvalues"][0] - REF[0]) < 1e-8, "lowest level with a small subspace")
    all_ok(comm, res["pairs"].stats["subspace"] == 8, f"subspace {res['pairs'].stats['subspace']}")
    monkeypatch.undo()
    res, _ = run(comm, mpi_tmp_path, dict(MODEL, solver={"nev": 1, "tol": 1e-10}), "roomy")
    all_ok(comm, res["pairs"].stats["subspace"] == 12, f"subspace {res['pairs'].stats['subspace']}")
