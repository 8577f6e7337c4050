"""Where the basis is cut between ranks (fockmpi.operator.balance): cut by the product's
non-zeros, a symmetric sector keeps its states in order, stays within 1.1x the mean states per
rank, spreads its non-zeros more evenly than the even split of states (whose imbalance the
sampled estimate predicts), and gives the same eigenvalues and the same matrix."""
import numpy as np
import pytest
from test_pipeline import all_ok, run

from fockmpi.app.pipeline import build_problem
from fockmpi.basis.make import make_basis
from fockmpi.operator.balance import WORTH_MOVING
from fockmpi.jobfile.table import parse_job

CASES = {
    "ring18_k0": ({"type": "chain", "size": [18]}, {"type": "heisenberg"}, {"Sz": 0, "momentum": 0}),
    "hubbard8_k0": ({"type": "chain", "size": [8]}, {"type": "hubbard", "U": 4.0},
                    {"N_up": 4, "N_dn": 4, "momentum": 0}),
    "ring16_u1": ({"type": "chain", "size": [16]}, {"type": "heisenberg"}, {"Sz": 0}),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_cut_by_nonzeros_against_the_even_split(comm, mpi_tmp_path, case):
    lattice, model, sector = CASES[case]
    found = {}
    for balance in ("states", "nnz"):
        sections = {"lattice": lattice, "model": model, "sector": sector,
                    "solver": {"nev": 2, "tol": 1e-11, "storage": "aij", "balance": balance}}
        found[balance], _ = run(comm, mpi_tmp_path, sections, f"balance_{case}_{balance}")
    even, cut = found["states"]["parallel"], found["nnz"]["parallel"]
    all_ok(comm, np.allclose(found["nnz"]["eigenvalues"], found["states"]["eigenvalues"], atol=1e-9),
           f"eigenvalues {found['nnz']['eigenvalues']} against {found['states']['eigenvalues']}")
    all_ok(comm, sum(cut["nnz"]) == sum(even["nnz"]), f"non-zeros {sum(cut['nnz'])} against {sum(even['nnz'])}")
    all_ok(comm, cut["imbalance_states"] <= 1.1 + 1e-12, f"states imbalance {cut['imbalance_states']}")
    if comm.size == 1:
        all_ok(comm, cut["balance"] == "states" and cut["states"] == even["states"], "one rank: nothing to cut")
        return
    # the sampled estimate of the even split's imbalance, against what the even split stored
    all_ok(comm, abs(cut["imbalance_nnz_even_states"] - even["imbalance_nnz"]) < 0.02,
           f"estimated {cut['imbalance_nnz_even_states']}, counted {even['imbalance_nnz']}")
    all_ok(comm, cut["imbalance_nnz"] <= min(1.02, even["imbalance_nnz"]) + 0.005 or
           cut["imbalance_states"] >= 1.1 - 1e-3,  # (either the non-zeros are even or the states cap binds)
           f"{case}: non-zeros {even['imbalance_nnz']:.3f} -> {cut['imbalance_nnz']:.3f}, "
           f"states {cut['imbalance_states']:.3f}")
    # (an even split within WORTH_MOVING, up to the sampling error, stays as it is)
    all_ok(comm, cut["imbalance_nnz"] < even["imbalance_nnz"] or even["imbalance_nnz"] < WORTH_MOVING + 0.005,
           f"{case}: the cut by non-zeros is no better: {cut['imbalance_nnz']} against {even['imbalance_nnz']}")


@pytest.mark.parametrize("case", ["ring18_k0", "ring16_u1"])
def test_repartition_keeps_the_states_in_order(comm, case):
    lattice, model, sector = CASES[case]
    problem = build_problem(parse_job({"lattice": lattice, "model": model, "sector": sector}, path="x.toml", text=""))
    basis = make_basis(problem.sector, problem.group, comm)
    before = np.concatenate(comm.allgather(basis.packed_states()))
    # an uneven cut: rank p gets a share growing with p, the last rank the rest
    weights = np.arange(1, comm.size + 1, dtype=float)
    offsets = np.concatenate([[0], np.floor(np.cumsum(weights) / weights.sum() * basis.dim)]).astype(np.int64)
    basis.repartition(offsets, comm)
    after = np.concatenate(comm.allgather(basis.packed_states()))
    all_ok(comm, np.array_equal(before, after), "the global list of states changed")
    all_ok(comm, (basis.start, basis.end) == (offsets[comm.rank], offsets[comm.rank + 1])
           and basis.local_size == len(basis.states), "this rank's block")
    # every state is found where it now lives
    mine = basis.states
    found = basis.index_of(mine, comm)
    all_ok(comm, np.array_equal(found, np.arange(basis.start, basis.end)), "index_of after the cut")


def test_the_first_operator_settles_the_cuts(comm):
    """Vectors made after the first operator live on its cuts: a second operator on the same basis
    (a quench, the Hamiltonian of a spectrum's target) must not move them, however uneven."""
    import fockmpi
    from fockmpi.app.solve import build_operator
    rt = fockmpi.Runtime.start("real")
    lattice, model, sector = CASES["ring18_k0"]
    problem = build_problem(parse_job({"lattice": lattice, "model": model, "sector": sector,
                                       "solver": {"storage": "aij"}}, path="x.toml", text=""))
    fresh = make_basis(problem.sector, problem.group, comm)
    op = build_operator(problem.compiled, problem.solver, fresh, comm, rt.PETSc, quiet=True)
    all_ok(comm, getattr(fresh, "cuts_settled", False), "the first operator settles the cuts")
    op.destroy()
    for settled in (False, True):
        basis = make_basis(problem.sector, problem.group, comm)
        skewed = np.concatenate([[0], np.floor(np.cumsum(np.arange(1, comm.size + 1)) /
                                               (comm.size * (comm.size + 1) / 2) * basis.dim)]).astype(np.int64)
        basis.repartition(skewed, comm)
        basis.cuts_settled = settled
        op = build_operator(problem.compiled, problem.solver, basis, comm, rt.PETSc, quiet=True)
        kept = np.array_equal(basis.offsets, skewed)
        all_ok(comm, kept if settled or comm.size == 1 else not kept,
               f"settled {settled}: cuts {basis.offsets} from {skewed}")
        all_ok(comm, op.mat.getLocalSize()[0] == basis.local_size, "the operator's rows are the basis' block")
        op.destroy()
