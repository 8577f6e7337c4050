"""[[observable]] on 1, 2 and 3 ranks against a dense reference built here (tests/dense_reference.py,
nothing of fockmpi): the one-body density matrix <c+_{i,up} c_{j,up}> (not hermitian: measured by
its hermitian parts, fermion signs included) and the double occupancy of the Hubbard ring, in the
U(1) sector and in the momentum sector of its ground state (where each pair is averaged over the
translations and reflections)."""
import functools

import numpy as np
import pytest
from dense_reference import hubbard_ring
from test_pipeline import all_ok, run

L, U = 6, 4.0


@functools.lru_cache(maxsize=1)
def dense_ground_state():
    D, c, hop, double_occupancy = hubbard_ring(L)
    n = {k: v.T @ v for k, v in c.items()}
    H = hop + U * double_occupancy
    q = D.charges()
    keep = np.flatnonzero((q["N_up"] == L // 2) & (q["N_dn"] == L // 2))
    w, v = np.linalg.eigh(H[keep][:, keep].toarray())
    psi = np.zeros(D.dim)
    psi[keep] = v[:, 0]
    G = np.array([[psi @ (c[i, "up"].T @ (c[j, "up"] @ psi)) for j in range(L)] for i in range(L)])
    double = sum(psi @ (n[i, "up"] @ (n[i, "dn"] @ psi)) for i in range(L))
    return w[0], G, double


@pytest.mark.parametrize("sector", [{}, {"momentum": 0, "reflection": 1}])
def test_density_matrix_and_double_occupancy_agree_with_dense(comm, mpi_tmp_path, sector):
    e0, G, double = dense_ground_state()
    sections = {"lattice": {"type": "chain", "size": [L]}, "model": {"type": "hubbard", "U": U},
                "sector": {"N_up": L // 2, "N_dn": L // 2, **sector}, "solver": {"nev": 1, "tol": 1e-12},
                "observable": [{"name": "G_up", "op": "cdag_i,up c_j,up", "pairs": "all"},
                               {"name": "double", "op": "n_i,up n_i,dn", "sites": "all"}]}
    res, _ = run(comm, mpi_tmp_path, sections, f"obs_{len(sector)}")
    all_ok(comm, abs(res["eigenvalues"][0] - e0) < 1e-9, f"E0 {res['eigenvalues'][0]} against {e0}")
    got = res["observables"]["G_up"][0]
    all_ok(comm, np.allclose(got, G, atol=1e-9), f"G_up {got[0]} against {G[0]}")
    all_ok(comm, abs(res["observables"]["double"][0] - double) < 1e-9, "double occupancy")


def test_measure_reads_each_ranks_rows(comm, mpi_tmp_path):
    """fockmpi measure on these ranks: the basis rebuilt and checked row by row, each rank's rows
    of the eigenvector read, the one-body density matrix measured as in a run."""
    import os
    from fockmpi.app.measure import measure_results
    _, G, _ = dense_ground_state()
    sections = {"lattice": {"type": "chain", "size": [L]}, "model": {"type": "hubbard", "U": U},
                "sector": {"N_up": L // 2, "N_dn": L // 2, "momentum": 0}, "solver": {"nev": 1, "tol": 1e-12}}
    import tomllib  # (the results file keeps the job text: write it as TOML, not repr)
    job_text = ('[lattice]\ntype = "chain"\nsize = [6]\n[model]\ntype = "hubbard"\nU = 4.0\n'
                '[sector]\nN_up = 3\nN_dn = 3\nmomentum = 0\n[solver]\nnev = 1\ntol = 1e-12\n')
    assert tomllib.loads(job_text) == sections
    from fockmpi.jobfile.table import parse_job
    from fockmpi.app.pipeline import run_job
    out = os.path.join(mpi_tmp_path, "plain.h5")
    run_job(parse_job(sections, path="plain.toml", text=job_text), comm, output_path=out, force=True, quiet=True)
    obs = os.path.join(mpi_tmp_path, "obs.toml")
    if comm.rank == 0:
        with open(obs, "w") as f:
            f.write('[[observable]]\nname = "G_up"\nop = "cdag_i,up c_j,up"\npairs = "all"\n')
    comm.Barrier()
    values = measure_results(out, obs, comm, os.path.join(mpi_tmp_path, "measured.h5"), force=True, quiet=True)
    all_ok(comm, np.allclose(values["G_up"][0], G, atol=1e-9), f"G_up {values['G_up'][0][0]} against {G[0]}")
