"""The basis protocol (fockmpi.basis.Basis): every basis answers the same questions, and a
basis defined by a constraint on states is P H P, checked against dense projected matrices
built here from tests/dense_reference.py."""
import numpy as np
import pytest
from dense_reference import DenseSystem
from mpi4py import MPI

from fockmpi.models import ops
from dense_matrices import symmetric_matrix_dense
from fockmpi.basis.constrained import constrained_basis
from fockmpi.basis.sector import Sector
from fockmpi.basis.symmetric import SymmetricBasis
from fockmpi.basis.u1 import U1Basis
from fockmpi.errors import SectorError
from fockmpi.operator.compile import compile_operator
from fockmpi.models.space import Space
from fockmpi.symmetry.group import Generator, SymmetryGroup

L = 10


def no_two_up(s):
    """No two neighbouring up spins on the ring (bit 1 = up): the Rydberg blockade."""
    rot = (s >> np.uint64(1)) | ((s & np.uint64(1)) << np.uint64(L - 1))
    return (s & rot) == 0


def heisenberg(L, J2=0.3, h=0.2):
    H = ops.Operator()
    for i in range(L):
        for d, J in ((1, 1.0), (2, J2)):
            j = (i + d) % L
            H += J * (0.5 * (ops.Sp(i) * ops.Sm(j) + ops.Sm(i) * ops.Sp(j)) + ops.Sz(i) * ops.Sz(j))
        H += -h * ops.Sz(i)
    return H


def dense_heisenberg(L, J2=0.3, h=0.2):
    """The J1-J2 ring of :func:`heisenberg` as a dense matrix of tests/dense_reference.py."""
    D = DenseSystem(["spin"] * L)
    H = 0
    for i in range(L):
        for d, J in ((1, 1.0), (2, J2)):
            j = (i + d) % L
            H = H + J * (0.5 * (D.spin(i, "+") @ D.spin(j, "-") + D.spin(i, "-") @ D.spin(j, "+"))
                         + D.spin(i, "z") @ D.spin(j, "z"))
        H = H - h * D.spin(i, "z")
    return D, H


def dense_projected(L, Sz, allowed):
    """Eigenvalues of P H P on the allowed states of the Sz sector, from dense matrices."""
    D, H = dense_heisenberg(L)
    up = np.array([[int(v == 1) for v in row] for row in D.local_states()])  # local state 1 = up
    keep = np.isclose(D.charges()["Sz"], Sz)
    keep &= ~np.any(up & np.roll(up, -1, axis=1), axis=1) if allowed else True
    return np.linalg.eigvalsh(H[np.ix_(keep, keep)]), int(keep.sum())


@pytest.mark.parametrize("Sz", [-3, -2, -1])
def test_constrained_basis_is_the_projected_hamiltonian(Sz):
    space = Space.uniform("spin", L)
    sector = Sector(space, {"Sz": Sz})
    basis = constrained_basis(sector, no_two_up, MPI.COMM_SELF, name="no_two_up")
    ref, dim = dense_projected(L, Sz, allowed=True)
    assert basis.dim == dim
    assert np.all(no_two_up(basis.packed_states()))
    compiled = compile_operator(heisenberg(L), space, sector.names)
    values = np.linalg.eigvalsh(symmetric_matrix_dense(compiled, basis, MPI.COMM_SELF))
    assert np.allclose(values, ref, atol=1e-10)
    # the unconstrained spectrum differs (the test can fail)
    full, _ = dense_projected(L, Sz, allowed=False)
    assert len(full) > len(ref)


def test_constraint_with_symmetry_and_its_check():
    space = Space.uniform("spin", L)
    sector = Sector(space, {"Sz": -2})
    shift = tuple((i + 1) % L for i in range(L))
    group = SymmetryGroup(L, [Generator("T", shift, False, 1, 0)], (L, 1, 1), space)
    basis = SymmetricBasis(sector, group, MPI.COMM_SELF, constraint=no_two_up)
    compiled = compile_operator(heisenberg(L), space, sector.names)
    sym = np.linalg.eigvalsh(symmetric_matrix_dense(compiled, basis, MPI.COMM_SELF))
    ref, _ = dense_projected(L, -2, allowed=True)
    assert all(np.isclose(ref, e, atol=1e-9).any() for e in sym)  # the k = 0 levels are levels of P H P

    def last_site_down(s):  # not translation invariant (but true on every representative)
        return (s >> np.uint64(L - 1)) & np.uint64(1) == 0
    with pytest.raises(SectorError, match="whole orbits"):
        SymmetricBasis(sector, group, MPI.COMM_SELF, constraint=last_site_down)


def test_a_constraint_must_answer_per_state():
    from fockmpi.errors import ConfigError
    sector = Sector(Space.uniform("spin", 6), {"Sz": 0})
    with pytest.raises(ConfigError, match="booleans"):
        constrained_basis(sector, lambda s: True, MPI.COMM_SELF)


def test_every_basis_answers_the_protocol():
    space = Space.uniform("spin", 8)
    sector = Sector(space, {"Sz": 0})
    shift = tuple((i + 1) % 8 for i in range(8))
    group = SymmetryGroup(8, [Generator("T", shift, False, 1, 0)], (8, 1, 1), space)
    bases = [U1Basis(sector), SymmetricBasis(sector, group, MPI.COMM_SELF),
             constrained_basis(sector, lambda s: (s & np.uint64(3)) != np.uint64(3), MPI.COMM_SELF, name="c")]
    prints = set()
    for b in bases:
        assert b.local_size == b.end - b.start == b.dim and list(b.offsets) == [0, b.dim]
        assert np.array_equal(b.index_of(b.states), np.arange(b.dim))
        assert b.index_of(np.array([np.uint64(0)]))[0] == -1  # all down: not Sz = 0
        assert np.all(b.owner_of(np.arange(b.dim)) == 0)
        assert (b.norms is None) == isinstance(b, U1Basis)
        assert len(b.packed_states()) == b.dim
        prints.add(b.fingerprint())
    assert len(prints) == 3
    assert U1Basis(sector).fingerprint() == bases[0].fingerprint()
    assert U1Basis(Sector(space, {"Sz": 1})).fingerprint() != bases[0].fingerprint()
