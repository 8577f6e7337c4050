"""What one product moves between ranks (/parallel of the results file), against the count made
here from a dense Hamiltonian (tests/dense_reference.py, nothing of fockmpi) and the rows each
rank holds: the distinct columns outside a rank's rows that its rows touch are the values it
receives, their owners the messages.  The same for the stored matrix and the matrix-free operator
(the upper triangle sends its partial sums back: twice); the spread of states and non-zeros."""
import numpy as np
import pytest
from test_pipeline import all_ok, dense_heisenberg_chain, run


def expected_traffic(L, starts, dim, upper=False):
    D, H = dense_heisenberg_chain(L)
    keep = np.flatnonzero(np.isclose(D.charges()["Sz"], 0))  # ascending packed states: fockmpi's U(1) order
    H = H[np.ix_(keep, keep)]
    bounds = list(starts) + [dim]
    out = []
    for r in range(len(starts)):
        rows = H[bounds[r]:bounds[r + 1]]
        cols = np.flatnonzero(np.any(np.abs(rows) > 1e-14, axis=0))
        ghosts = cols[(cols >= bounds[r + 1])] if upper else cols[(cols < bounds[r]) | (cols >= bounds[r + 1])]
        owners = np.unique(np.searchsorted(bounds, ghosts, side="right") - 1)
        twice = 2 if upper else 1  # (the triangle's partial sums go back to the owners)
        out.append((twice * len(ghosts), twice * len(owners)))
    return out


@pytest.mark.parametrize("storage", ["aij", "shell", "upper"])
def test_recorded_traffic_equals_the_count_from_the_matrix(comm, mpi_tmp_path, storage):
    L = 10
    sections = {"lattice": {"type": "chain", "size": [L]}, "model": {"type": "heisenberg"}, "sector": {"Sz": 0},
                "solver": {"nev": 1, "storage": storage}}
    res, _ = run(comm, mpi_tmp_path, sections, f"traffic_{storage}")
    p = res["parallel"]
    # (the upper triangle's rows reach only higher columns: their ghosts come in, the partial sums go back)
    want = expected_traffic(L, res["starts"], res["dimension"], upper=storage == "upper")
    got = list(zip(p["ghost_values"], p["ghost_messages"]))
    all_ok(comm, got == want, f"{storage}: recorded {got}, counted {want}")
    all_ok(comm, p["states"] == [b - a for a, b in zip(res["starts"], res["starts"][1:] + [res["dimension"]])],
           "states per rank")
    all_ok(comm, p["imbalance_states"] <= 1.1 and (comm.size == 1 or p["bytes_per_product"] > 0),
           f"imbalance {p['imbalance_states']}, bytes {p['bytes_per_product']}")


def test_per_rank_timings_and_products_are_recorded(comm, mpi_tmp_path):
    from fockmpi.io.results import read_results
    sections = {"lattice": {"type": "chain", "size": [10]}, "model": {"type": "heisenberg"}, "sector": {"Sz": 0},
                "solver": {"nev": 1}}
    res, path = run(comm, mpi_tmp_path, sections, "per_rank")
    r = read_results(path) if comm.rank == 0 else None
    r = comm.bcast(r, root=0)
    per = r["timings_per_rank"]
    all_ok(comm, set(per) >= {"basis", "assembly", "solve", "output"} and all(len(v) == comm.size for v in per.values()),
           f"per-rank timings {per}")
    for phase, seconds in per.items():
        lo, hi = r["timings"][phase]["min"], r["timings"][phase]["max"]
        all_ok(comm, lo <= min(seconds) + 1e-12 and max(seconds) <= hi + 1e-3, f"{phase}: {seconds} against {lo}..{hi}")
    counts = list(r["parallel"]["matmult_count"])
    all_ok(comm, len(set(counts)) == 1 and counts[0] >= res["pairs"].matvecs > 0, f"MatMult counts {counts}")
