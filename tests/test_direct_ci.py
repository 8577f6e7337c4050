"""The direct-CI operator (FCIDUMP Hamiltonians by blocks of integrals, fockmpi.operator.direct_ci)
against the generic row generator on the same determinant basis: the same product H x to
rounding for random integrals (with and without orbital symmetry, open shells, an empty spin,
products split into rounds), so the two operators are one matrix, signs included.  The generic
path applies fockmpi's site-major Jordan-Wigner signs term by term, so this also checks the sign
between that order and the alpha-then-beta order of the kernels.  The determinant basis is the
ordered list the generic constrained basis makes, and its eigenvector equals the generic U(1)
basis' vector state by state."""
import numpy as np
import pytest
from random_integrals import random_dump

import fockmpi
from fockmpi.basis.determinants import DeterminantBasis
from fockmpi.basis.make import make_basis
from fockmpi.basis.sector import Sector
from fockmpi.models.chemistry import Orbitals, fcidump, hamiltonian, orbital_irrep_filter
from fockmpi.models import ops
from fockmpi.models.space import Space
from fockmpi.operator.assemble import assemble_hamiltonian
from fockmpi.operator.compile import compile_operator
from fockmpi.operator.direct_ci import DirectCIOperator

CASES = [  # norb, N_up, N_dn, orbsym, irrep, max_ghost_bytes (None: default, one round)
    (5, 2, 3, None, None, None),
    (6, 3, 3, (1, 2, 3, 4, 1, 2), 3, None),
    (4, 0, 2, None, None, None),
    (6, 2, 2, (1, 1, 2, 2, 3, 4), 1, 1),  # one alpha string a round
    (6, 3, 2, None, None, 1),
    (3, 3, 3, None, None, None),          # a single determinant
    (7, 4, 2, (1, 2, 1, 2, 1, 2, 1), 2, 20000),
]


@pytest.fixture(scope="module")
def rt():
    return fockmpi.Runtime.start("real")


def products(rt, norb, na, nb, orbsym, irrep, ghost_bytes, seed=3):
    """(H x by the direct-CI operator, by the generic stored matrix, |H x|) for a random x."""
    comm, PETSc = rt.comm, rt.PETSc
    dump = random_dump(norb, na + nb, na - nb, orbsym, seed)
    space = Space.uniform("electron", norb)
    sector = Sector(space, {"N_up": na, "N_dn": nb})
    basis = DeterminantBasis(sector, comm, orbsym, irrep)
    stored = assemble_hamiltonian(compile_operator(hamiltonian(dump), space, sector.names), basis, comm, PETSc,
                                  show_progress=False)
    kw = {} if ghost_bytes is None else {"max_ghost_bytes": ghost_bytes}
    direct = DirectCIOperator(dump, basis, comm, PETSc, **kw)
    x, y_stored = stored.mat.createVecs()
    y_direct = y_stored.duplicate()
    stored.mat.getDiagonal(x)
    direct.mat.getDiagonal(y_direct)
    y_direct.axpy(-1.0, x)
    assert y_direct.norm() <= 1e-12 * x.norm(), "the diagonals differ"
    x.setRandom()
    stored.mat.mult(x, y_stored)
    direct.mat.mult(x, y_direct)
    scale = y_stored.norm()
    y_direct.axpy(-1.0, y_stored)
    err = y_direct.norm()
    rounds = len(direct.rounds)
    for thing in (stored, direct, x, y_stored, y_direct):
        thing.destroy()
    return err, scale, rounds


@pytest.mark.parametrize("case", CASES, ids=[f"{c[0]}o{c[1]}a{c[2]}b{'-sym' if c[3] else ''}" for c in CASES])
def test_direct_ci_product_equals_the_generic_matrix(rt, case):
    err, scale, rounds = products(rt, *case)
    assert err <= 1e-12 * scale, (err, scale)
    if case[5] == 1:
        assert rounds > 1  # the product really ran in rounds


def test_the_determinant_basis_is_the_generic_constrained_basis(rt):
    orbsym, irrep = (1, 2, 3, 4, 1, 2, 3), 4
    space = Space.uniform("electron", 7)
    sector = Sector(space, {"N_up": 3, "N_dn": 2})
    mine = DeterminantBasis(sector, rt.comm, orbsym, irrep)
    generic = make_basis(sector, None, rt.comm, constraint=orbital_irrep_filter(orbsym, irrep))
    assert np.array_equal(mine.packed_states(), generic.packed_states())
    assert np.array_equal(mine.index_of(mine.states), np.arange(mine.dim))
    assert np.all(mine.index_of(mine.states ^ np.uint64(1)) == -1)  # one electron moved off: not a determinant
    full = DeterminantBasis(sector, rt.comm)
    assert full.dim == 35 * 21 and mine.dim < full.dim


def test_the_fcidump_model_takes_the_direct_path_and_its_vector_is_the_generic_one(rt, tmp_path):
    """Ground state of random integrals by fockmpi.solve: the direct-CI operator (the default) and
    the generic stored matrix on the generic U(1) basis; same energy, same vector state by state
    (up to one overall sign)."""
    dump = random_dump(5, 5, 1, seed=7)
    model = fcidump(dump)
    assert isinstance(model.orbitals, Orbitals)
    sector = {"N_up": 3, "N_dn": 2}
    direct = fockmpi.solve(model, sector, nev=1, runtime=rt, tol=1e-12)
    assert direct.storage == "direct-ci" and isinstance(direct.basis, DeterminantBasis)
    model.orbitals = None  # the generic route: U(1) basis, stored matrix
    generic = fockmpi.solve(model, sector, nev=1, runtime=rt, tol=1e-12)
    assert generic.storage in ("aij", "shell") and not isinstance(generic.basis, DeterminantBasis)
    assert abs(direct.eigenvalues[0] - generic.eigenvalues[0]) < 1e-10
    order = np.argsort(generic.basis.packed_states())
    where = np.searchsorted(generic.basis.packed_states()[order], direct.basis.packed_states())
    v_generic = generic.vectors[0][order][where]
    v_direct = direct.vectors[0]
    sign = np.sign(np.vdot(v_generic, v_direct))
    assert np.abs(v_direct - sign * v_generic).max() < 1e-8


def test_storage_direct_needs_an_fcidump_model(tmp_path, capsys):
    from test_hostile import assert_job_refused
    assert_job_refused(capsys, tmp_path / "chain.toml",
                       '[lattice]\ntype = "chain"\nsize = [6]\n[model]\ntype = "heisenberg"\n[sector]\nSz = 0\n'
                       '[solver]\nstorage = "direct"\n', "[solver] storage", "fcidump")


def test_a_model_plus_terms_is_no_longer_direct_ci():
    dump = random_dump(3, 2, 0)
    model = fcidump(dump) + 0.1 * ops.n(0, "up")
    assert model.orbitals is None


def test_plan_of_an_fcidump_job_counts_the_determinants_and_plans_the_direct_operator(capsys):
    """``fockmpi info`` on the water job: the determinants of irrep A1 counted from the strings'
    irreps (133, what the basis holds), the direct-CI memory table, no stored-matrix advice."""
    import os

    from test_hostile import run_main
    job = os.path.join(os.path.dirname(__file__), "..", "jobs", "h2o_sto3g_fci.toml")
    code, out, err = run_main(capsys, "info", job)
    assert code == 0, err
    assert "dimension 133 " in out and "direct CI: 21 alpha x 21 beta strings" in out, out
    assert "Davidson vectors" in out and "aij" not in out, out
