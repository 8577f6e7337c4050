"""The public API: a notebook solves a named model with a handful of names of ``fockmpi``, and
the answers equal a dense diagonalization built here (tests/dense_reference.py, nothing of
fockmpi); job files and Python constructors give the same symmetry sectors."""
import functools
import os
import subprocess
import sys

import numpy as np
import pytest

from dense_reference import DenseSystem

import fockmpi
from fockmpi.errors import ConfigError, SectorError

HERE = os.path.dirname(os.path.abspath(__file__))
L = 6


@functools.lru_cache(maxsize=None)
def dense_hubbard_ring(L, t, U):
    """(DenseSystem, H) of the Hubbard ring; the products are taken sparse (4^6 x 4^6 dense
    products took ~30 s a ring), the operators are dense_reference's."""
    from scipy.sparse import csr_matrix
    D = DenseSystem(["electron"] * L)
    H = csr_matrix((D.dim, D.dim))
    for i in range(L):
        j = (i + 1) % L
        for s in ("up", "dn"):
            h = -t * csr_matrix(D.cdag(i, s)) @ csr_matrix(D.c(j, s))
            H = H + h + h.T
        H = H + U * csr_matrix(D.n(i, "up")) @ csr_matrix(D.n(i, "dn"))
    return D, H.toarray()


def test_public_names_are_a_handful():
    assert len(fockmpi.__all__) <= 12
    for name in fockmpi.__all__:
        assert getattr(fockmpi, name) is not None
    with pytest.raises(AttributeError, match="no attribute 'hubard'"):
        fockmpi.hubard


def test_importing_fockmpi_and_building_a_model_starts_no_mpi_and_no_petsc():
    code = ("import sys, fockmpi\n"
            "m = fockmpi.models.hubbard(fockmpi.make_lattice('chain', [4]), t=1, U=4)\n"
            "print(sorted(k for k in ('mpi4py', 'petsc4py', 'slepc4py', 'h5py') if k in sys.modules))\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True,
                       env=dict(os.environ, PYTHONPATH=os.path.dirname(HERE)))
    assert r.stdout.strip() == "[]", r.stdout + r.stderr


def test_notebook_hubbard_equals_dense():
    D, H = dense_hubbard_ring(L, 1.0, 4.0)
    exact = D.sector_eigvals(H, N_up=3, N_dn=3)[:3]
    model = fockmpi.models.hubbard(fockmpi.make_lattice("chain", [L]), t=1, U=4)
    found = fockmpi.solve(model, {"N_up": 3, "N_dn": 3}, nev=3, complete_multiplets=False)
    assert np.allclose(found.eigenvalues[:3], exact, atol=1e-8)
    assert found.basis.dim == 400 and found.storage in ("aij", "shell") and found.sector == "N_dn=3,N_up=3"
    # the eigenvector is this rank's slice in the basis order: <v|H|v> is the energy
    assert len(found.vectors[0]) == found.basis.dim


UNION = """
import json, sys, fockmpi
model = fockmpi.models.hubbard(fockmpi.make_lattice("chain", [{L}]), t=1, U=4)
rt = fockmpi.Runtime.start("complex")   # complex characters but at m = 0 and L/2
lows, dims = [], 0
for m in range({L}):
    found = fockmpi.solve(model, {{"N_up": 3, "N_dn": 2}}, symmetries={{"momentum": m}}, nev=2,
                          storage="{storage}", complete_multiplets=False, runtime=rt)
    lows.extend(float(e) for e in found.eigenvalues[:2])
    dims += found.basis.dim
print(json.dumps([lows, dims]))
"""


def test_notebook_union_of_momentum_sectors_is_the_spectrum(storage="aij"):
    # (shell = aij on momentum sectors: tests/mpi/test_shell_ranks.py; one subprocess here keeps CI short)
    import json
    D, H = dense_hubbard_ring(L, 1.0, 4.0)
    exact = D.sector_eigvals(H, N_up=3, N_dn=2)
    r = subprocess.run([sys.executable, "-c", UNION.format(L=L, storage=storage)], capture_output=True, text=True,
                       timeout=300, check=False, env=dict(os.environ, PYTHONPATH=os.path.dirname(HERE)))
    assert r.returncode == 0, r.stderr
    lows, dims = json.loads(r.stdout.strip().splitlines()[-1])
    assert dims == len(exact)
    assert np.allclose(sorted(lows)[:2], exact[:2], atol=1e-8)


def test_symmetry_sectors_equal_what_the_job_file_asks_for():
    from fockmpi.jobfile.sector import sector_choices
    from fockmpi.jobfile.table import Table
    lattice = fockmpi.make_lattice("chain", [8])
    table = Table({"Sz": 0, "momentum": "all", "reflection": 1, "spin_flip": -1}, "[sector]")
    from_job = sector_choices(table, lattice)
    direct = fockmpi.symmetry_sectors(lattice, momentum="all", reflection=1, spin_flip=-1)
    assert len(direct) == 8 and from_job == direct


def test_bad_labels_from_python_name_the_keyword():
    lattice = fockmpi.make_lattice("chain", [8])
    with pytest.raises(ConfigError, match="^reflection: expected one of 1, -1"):
        fockmpi.symmetry_sectors(lattice, reflection=2)
    with pytest.raises(ConfigError, match="permutations\\[0\\] permutation: expected a permutation"):
        fockmpi.symmetry_sectors(lattice, permutations=[("swap", [1, 0, 2], False, 0)])
    model = fockmpi.models.heisenberg(lattice)
    with pytest.raises(SectorError, match="solve one at a time"):
        fockmpi.solve(model, {"Sz": 0}, symmetries={"momentum": "all"})


def test_runtime_holds_comm_petsc_slepc_and_the_scalar():
    rt = fockmpi.Runtime.start()
    assert rt.comm.size >= 1 and rt.PETSc is not None and rt.SLEPc is not None
    assert rt.scalar == np.dtype(rt.PETSc.ScalarType) and not rt.is_complex
    model = fockmpi.models.heisenberg(fockmpi.make_lattice("chain", [8]))
    e0 = fockmpi.solve(model, {"Sz": 0}, runtime=rt).eigenvalues[0]
    assert e0 == pytest.approx(-3.6510934089, abs=1e-8)  # L = 8 Heisenberg ring (Bethe ansatz value)
    with pytest.raises(ValueError, match="real"):
        fockmpi.Runtime.start("quaternion")
