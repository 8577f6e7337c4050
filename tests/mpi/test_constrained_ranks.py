"""A constrained basis on 1, 2 and 3 ranks (states split and rebalanced, columns found by the
collective lookup, terms leaving the constrained space dropped): the distributed matrix gives
the eigenvalues of the dense projected Hamiltonian of tests/test_basis_protocol.py."""
import numpy as np
from test_basis_protocol import L, dense_projected, heisenberg, no_two_up
from test_pipeline import all_ok

from fockmpi import runtime
from fockmpi.operator.assemble import assemble_hamiltonian
from fockmpi.basis.constrained import constrained_basis
from fockmpi.basis.sector import Sector
from fockmpi.operator.compile import compile_operator
from fockmpi.solvers.eigen import SolverSettings, solve
from fockmpi.models.space import Space


def test_constrained_basis_on_ranks(comm):
    PETSc, SLEPc = runtime.init("real")
    space = Space.uniform("spin", L)
    sector = Sector(space, {"Sz": -1})
    basis = constrained_basis(sector, no_two_up, comm, name="no_two_up")
    ref, dim = dense_projected(L, -1, allowed=True)
    all_ok(comm, basis.dim == dim and sum(comm.allgather(basis.local_size)) == dim, "dimension")
    all_ok(comm, np.all(no_two_up(basis.packed_states())), "constraint")
    fingerprints = comm.allgather(basis.fingerprint())
    all_ok(comm, len(set(fingerprints)) == 1, "one fingerprint on every rank")
    op = assemble_hamiltonian(compile_operator(heisenberg(L), space, sector.names), basis, comm, PETSc,
                              show_progress=False)
    pairs = solve(op, SolverSettings(nev=3, tol=1e-12), comm, PETSc, SLEPc, show_progress=False)
    op.destroy()
    k = len(pairs.values)
    all_ok(comm, k >= 3 and np.allclose(pairs.values, ref[:k], atol=1e-9), f"values {pairs.values} {ref[:k]}")
