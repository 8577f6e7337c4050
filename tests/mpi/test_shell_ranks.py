"""The matrix-free operator (fockmpi.operator.shell) equals the stored matrix on 1, 2 and 3 ranks for
spins, spinless fermions, electrons and bosons, with and without lattice symmetries and on a
constrained basis: products with random vectors agree to rounding, and so do eigenvalues.
Operators between two sectors are checked on ranks against the single-rank dense block."""
import numpy as np
import pytest
from test_basis_protocol import heisenberg, no_two_up
from test_pipeline import all_ok

from fockmpi import runtime
from fockmpi.models import ops
from fockmpi.operator.assemble import assemble_hamiltonian
from fockmpi.basis.constrained import constrained_basis
from fockmpi.basis.sector import Sector
from fockmpi.basis.symmetric import SymmetricBasis
from fockmpi.basis.u1 import U1Basis
from fockmpi.operator.between import operator_between
from fockmpi.jobfile.table import parse_job
from fockmpi.operator.compile import compile_operator
from fockmpi.app.pipeline import build_problem
from fockmpi.operator.shell import ShellOperator
from fockmpi.solvers.eigen import SolverSettings, solve
from fockmpi.models.space import Space

CASES = {  # real sectors only (the MPI tests run on a real PETSc; complex: tests/test_cli.py)
    "spins-u1": ({"type": "chain", "size": [10]}, {"type": "heisenberg", "J2": 0.3}, {"Sz": 0}),
    "spins-kpf": ({"type": "chain", "size": [12]}, {"type": "heisenberg", "J2": 0.3},
                  {"Sz": 0, "momentum": 6, "reflection": -1, "spin_flip": 1}),
    "spins-square-a1": ({"type": "square", "size": [4, 4]}, {"type": "heisenberg", "J2": 0.2},
                        {"Sz": 0, "momentum": [0, 0], "point_group": "A1", "spin_flip": 1}),
    "fermions-u1": ({"type": "chain", "size": [10]}, {"type": "tV", "V": 1.3}, {"N": 4}),
    "fermions-kpi": ({"type": "chain", "size": [10]}, {"type": "tV", "V": 1.3}, {"N": 4, "momentum": 5}),
    "electrons-u1": ({"type": "chain", "size": [6]}, {"type": "hubbard", "U": 3.0}, {"N_up": 3, "N_dn": 2}),
    "electrons-k0": ({"type": "square", "size": [2, 3]}, {"type": "hubbard", "U": 3.0},
                     {"N_up": 3, "N_dn": 3, "momentum": [0, 0]}),
    "bosons-u1": ({"type": "chain", "size": [6]}, {"type": "bose_hubbard", "U": 2.0, "nmax": 3}, {"N": 6}),
    "bosons-kpi": ({"type": "chain", "size": [6]}, {"type": "bose_hubbard", "U": 2.0, "nmax": 3},
                   {"N": 6, "momentum": 3, "reflection": 1}),
}


def products_agree(comm, PETSc, stored, shell, seed):
    x = stored.mat.createVecRight()
    rng = np.random.default_rng(seed + comm.rank)
    x.setArray(rng.standard_normal(x.getLocalSize()))
    y1, y2 = stored.mat.createVecLeft(), stored.mat.createVecLeft()
    stored.mat.mult(x, y1)
    shell.mat.mult(x, y2)
    scale = y1.norm()
    y1.axpy(-1.0, y2)
    return y1.norm() <= 1e-12 * scale and scale > 0


@pytest.mark.parametrize("name", list(CASES))
def test_shell_equals_stored(comm, name):
    PETSc, SLEPc = runtime.init("real")
    lattice, model, sector = CASES[name]
    p = build_problem(parse_job({"lattice": lattice, "model": model, "sector": sector}))
    basis = U1Basis(p.sector, comm.rank, comm.size) if p.group is None else SymmetricBasis(p.sector, p.group, comm)
    stored = assemble_hamiltonian(p.compiled, basis, comm, PETSc, show_progress=False)
    shell = ShellOperator(p.compiled, basis, comm, PETSc)
    for seed in (1, 2):
        all_ok(comm, products_agree(comm, PETSc, stored, shell, seed), f"{name}: product")
    settings = SolverSettings(nev=3, tol=1e-12)
    a = solve(stored, settings, comm, PETSc, SLEPc, show_progress=False).values
    b = solve(shell, settings, comm, PETSc, SLEPc, show_progress=False).values
    all_ok(comm, len(a) == len(b) and np.allclose(a, b, atol=1e-9), f"{name}: eigenvalues {a} {b}")
    if comm.size > 1:
        all_ok(comm, comm.allreduce(shell.nghosts) > 0, "ghosts exchanged")
    stored.destroy()
    shell.destroy()


@pytest.mark.parametrize("name", list(CASES))
def test_upper_triangle_equals_stored(comm, name):
    """storage = "upper": the upper triangle (fockmpi.operator.upper) gives the products,
    diagonal and eigenvalues of the whole matrix, built in one pass or two, in fewer bytes."""
    PETSc, SLEPc = runtime.init("real")
    lattice, model, sector = CASES[name]
    p = build_problem(parse_job({"lattice": lattice, "model": model, "sector": sector}))
    basis = U1Basis(p.sector, comm.rank, comm.size) if p.group is None else SymmetricBasis(p.sector, p.group, comm)
    stored = assemble_hamiltonian(p.compiled, basis, comm, PETSc, show_progress=False)
    settings = SolverSettings(nev=3, tol=1e-12)
    a = solve(stored, settings, comm, PETSc, SLEPc, show_progress=False).values
    for one_pass in (True, False):
        upper = assemble_hamiltonian(p.compiled, basis, comm, PETSc, show_progress=False, one_pass=one_pass,
                                     symmetric_storage=True)
        all_ok(comm, upper.mat.getType() == "python" and upper.nnz_global == stored.nnz_global,
               f"{name}: {upper.mat.getType()}, nnz {upper.nnz_global} against {stored.nnz_global}")
        triangle = comm.allreduce(upper.bytes_local - upper.ghost_bytes)
        all_ok(comm, triangle < 0.8 * comm.allreduce(stored.bytes_local), f"{name}: bytes")
        for seed in (1, 2):
            all_ok(comm, products_agree(comm, PETSc, stored, upper, seed), f"{name}: product (one_pass={one_pass})")
        d1, d2 = stored.mat.getDiagonal(), upper.mat.createVecLeft()
        upper.mat.getDiagonal(d2)
        d1.axpy(-1.0, d2)
        all_ok(comm, d1.norm() == 0.0, f"{name}: diagonal")
        b = solve(upper, settings, comm, PETSc, SLEPc, show_progress=False).values
        all_ok(comm, len(a) == len(b) and np.allclose(a, b, atol=1e-10), f"{name}: eigenvalues {a} {b}")
        upper.destroy()
    stored.destroy()


@pytest.mark.parametrize("name", ["spins-kpf", "electrons-u1"])
def test_shell_matrices_answer_every_product_petsc_asks_for(comm, name):
    """The matrix-free and upper-triangle shells (fockmpi.operator.hermitian_shell): H^T x and
    H^dag x equal the stored matrix's; a diagonal only where one exists."""
    from fockmpi.errors import FockmpiError
    PETSc, _ = runtime.init("real")
    lattice, model, sector = CASES[name]
    p = build_problem(parse_job({"lattice": lattice, "model": model, "sector": sector}))
    basis = U1Basis(p.sector, comm.rank, comm.size) if p.group is None else SymmetricBasis(p.sector, p.group, comm)
    stored = assemble_hamiltonian(p.compiled, basis, comm, PETSc, show_progress=False)
    x = stored.mat.createVecRight()
    x.setArray(np.random.default_rng(5 + comm.rank).standard_normal(x.getLocalSize()))
    want = stored.mat.createVecLeft()
    stored.mat.mult(x, want)
    for op in (ShellOperator(p.compiled, basis, comm, PETSc),
               assemble_hamiltonian(p.compiled, basis, comm, PETSc, show_progress=False, symmetric_storage=True)):
        for product in (op.mat.multTranspose, op.mat.multHermitian):
            got = op.mat.createVecLeft()
            product(x, got)
            got.axpy(-1.0, want)
            all_ok(comm, got.norm() <= 1e-12 * want.norm(), f"{name}: {type(op).__name__} {product.__name__}")
        op.destroy()
    shell = ShellOperator(p.compiled, basis, comm, PETSc)
    try:
        shell.mat.getDiagonal()
        refused = False
    except (FockmpiError, PETSc.Error):
        refused = True
    all_ok(comm, refused, "the matrix-free operator has no diagonal")
    shell.destroy()
    stored.destroy()


def test_shell_on_a_constrained_basis(comm):
    PETSc, _ = runtime.init("real")
    space = Space.uniform("spin", 10)
    sector = Sector(space, {"Sz": -1})
    basis = constrained_basis(sector, no_two_up, comm, name="no_two_up")
    compiled = compile_operator(heisenberg(10), space, sector.names)
    stored = assemble_hamiltonian(compiled, basis, comm, PETSc, show_progress=False)
    shell = ShellOperator(compiled, basis, comm, PETSc)
    all_ok(comm, products_agree(comm, PETSc, stored, shell, 3), "constrained product")
    stored.destroy()
    shell.destroy()


def test_operator_between_sectors_on_ranks(comm):
    """S^+_{q=0} from Sz=0 to Sz=1 and c^dag_{1,dn} on electrons, distributed: M x equals the
    dense block (built on one rank from the full bases) times x."""
    from test_between import block
    PETSc, _ = runtime.init("real")
    cases = [(Space.uniform("spin", 10), {"Sz": 0}, {"Sz": 1}, sum((ops.Sp(j) for j in range(10)), ops.Operator())),
             (Space.uniform("electron", 5), {"N_up": 2, "N_dn": 2}, {"N_up": 2, "N_dn": 3}, ops.cdag(1, 1))]
    for space, rq, lq, A in cases:
        right, left = Sector(space, rq), Sector(space, lq)
        rb, lb = U1Basis(right, comm.rank, comm.size), U1Basis(left, comm.rank, comm.size)
        M = operator_between(A, lb, rb, comm, PETSc)
        dense = block(A, U1Basis(left), U1Basis(right)).real
        x_full = np.random.default_rng(5).standard_normal(rb.dim)
        x = M.mat.createVecRight()
        x.setArray(x_full[rb.start:rb.end])
        y = M.mat.createVecLeft()
        M.mat.mult(x, y)
        all_ok(comm, M.mat.getSize() == (lb.dim, rb.dim), "shape")
        all_ok(comm, np.allclose(y.getArray(), (dense @ x_full)[lb.start:lb.end], atol=1e-12), "product")
        M.destroy()


def test_auto_storage_stores_what_fits_and_goes_matrix_free_otherwise(comm):
    from fockmpi.app.plan import choose_storage
    PETSc, _ = runtime.init("real")
    p = build_problem(parse_job({"lattice": {"type": "chain", "size": [12]}, "model": {"type": "heisenberg"},
                                 "sector": {"Sz": 0}}))
    basis = U1Basis(p.sector, comm.rank, comm.size)
    storage, est = choose_storage(p.solver, p.compiled, basis, comm, PETSc, 64 * 2 ** 30)
    all_ok(comm, storage == "aij" and est["stored_bytes"] > 0, "plenty of memory: stored")
    storage, _ = choose_storage(p.solver, p.compiled, basis, comm, PETSc, 1e6)
    all_ok(comm, storage == "shell", "too little memory: matrix-free")
    p.solver.storage = "shell"
    all_ok(comm, choose_storage(p.solver, p.compiled, basis, comm, PETSc, 64 * 2 ** 30)[0] == "shell", "as asked")
