"""Operators between two sectors (fockmpi.operator.between) against dense matrices built here: on U(1)
bases entry by entry (the sector states are sorted, as in tests/dense_reference.py), on
symmetric bases through what does not depend on the phases of the basis vectors (singular
values of the block and of its commutator with H), with the projectors built from dense
permutation matrices (tests/test_symmetry.py)."""
import numpy as np
import pytest
from dense_matrices import symmetric_matrix_dense
from dense_reference import DenseSystem
from mpi4py import MPI
from scipy import sparse
from test_basis_protocol import dense_heisenberg
from test_symmetry import dense_group_element

from fockmpi import kernels
from fockmpi.models import ops
from fockmpi.operator import assemble
from fockmpi.basis.sector import Sector
from fockmpi.basis.symmetric import SymmetricBasis
from fockmpi.basis.u1 import U1Basis
from fockmpi.operator.between import check_sectors
from fockmpi.errors import SectorError
from fockmpi.operator.compile import compile_operator
from fockmpi.models.lattice import make_lattice
from fockmpi.models import heisenberg, hubbard
from fockmpi.models.space import Space
from fockmpi.symmetry.group import Generator, SymmetryGroup
from fockmpi.symmetry.lattice import momentum_character, translation_generators

COMM = MPI.COMM_SELF


def fourier(L, m, make):
    """``sum_j e^{2 pi i m j / L} make(j) / sqrt(L)`` (the convention of docs/conventions.md)."""
    out = ops.Operator()
    for j in range(L):
        out += np.exp(2j * np.pi * m * j / L) / np.sqrt(L) * make(j)
    return out


def block(op, left, right):
    """Dense ``<l|op|r>`` from fockmpi's row kernel (one rank)."""
    check_sectors(op, left, right)
    adjoint = compile_operator(op.hc(), left.space, check_hermitian=False)
    if isinstance(left, U1Basis):
        terms, look = adjoint.terms(np.complex128), right.lookup_args()
        n = left.local_size
        d_ptr, o_ptr = np.zeros(n + 1, dtype=np.int64), np.zeros(n + 1, dtype=np.int64)
        z, zv = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.complex128)
        kernels.build_rows(left.states, np.int64(0), np.int64(0), np.int64(right.dim), kernels.COUNT, False,
                           terms, look, d_ptr, z, zv, o_ptr, z, zv)
        ptr = np.cumsum(d_ptr)
        col, val = np.empty(ptr[-1], dtype=np.int64), np.empty(ptr[-1], dtype=np.complex128)
        lost = kernels.build_rows(left.states, np.int64(0), np.int64(0), np.int64(right.dim), kernels.FILL, False,
                                  terms, look, ptr, col, val, np.cumsum(o_ptr), z, zv)
        assert lost == 0
    else:
        ptr, col, val = assemble._symmetric_rows(adjoint, left, right, COMM, np.dtype(np.complex128), False,
                                                 (0, left.local_size))
    M = np.zeros((left.dim, right.dim), dtype=complex)
    keep = col >= 0
    np.add.at(M, (np.repeat(np.arange(left.dim), np.diff(ptr))[keep], col[keep]), val[keep])
    return M


def sector_rows(D, space, sector):
    """Dense indices of the states of a U(1) sector, in fockmpi's order (ascending)."""
    local = space.decode(U1Basis(sector).states)
    return (local * np.cumprod([1] + list(D.dims[:-1]))).sum(axis=1)


@pytest.mark.parametrize("m", [0, 1, 2])
def test_spin_raising_at_momentum_q_on_u1_sectors(m):
    L = 6
    space = Space.uniform("spin", L)
    D = DenseSystem(["spin"] * L)
    A = fourier(L, m, ops.Sp)
    dense = sum(np.exp(2j * np.pi * m * j / L) / np.sqrt(L) * D.spin(j, "+") for j in range(L))
    right, left = Sector(space, {"Sz": 0}), Sector(space, {"Sz": 1})
    M = block(A, U1Basis(left), U1Basis(right))
    ref = dense[np.ix_(sector_rows(D, space, left), sector_rows(D, space, right))]
    assert np.abs(ref).max() > 0.1
    np.testing.assert_allclose(M, ref, atol=1e-12)


@pytest.mark.parametrize("spin, site", [(0, 1), (0, 2), (1, 0), (1, 2)])
def test_electron_creation_on_u1_sectors_carries_the_jordan_wigner_sign(spin, site):
    L = 4
    space = Space.uniform("electron", L)
    D = DenseSystem(["electron"] * L)
    A = ops.cdag(site, spin)
    dense = D.cdag(site, "up" if spin == 0 else "dn")
    right = Sector(space, {"N_up": 2, "N_dn": 1})
    left = Sector(space, {"N_up": 2 + (spin == 0), "N_dn": 1 + (spin == 1)})
    M = block(A, U1Basis(left), U1Basis(right))
    ref = dense[np.ix_(sector_rows(D, space, left), sector_rows(D, space, right))]
    assert (ref < 0).any() and (ref > 0).any()  # both signs occur
    np.testing.assert_allclose(M, ref, atol=1e-12)


def symmetric_case(lat, space, charges, gens_of_m, m):
    sector = Sector(space, charges)
    return SymmetricBasis(sector, SymmetryGroup(lat.nsites, gens_of_m(m)), COMM)


def projector_range(D, space, basis, cache, cdag):
    """Orthonormal basis (columns, full dense space) of the symmetric sector, built from dense
    permutation matrices and the group's characters."""
    mask = np.zeros(D.dim, dtype=bool)
    mask[sector_rows(D, space, basis.sector)] = True
    P = np.zeros((D.dim, D.dim), dtype=complex)
    for (perm, fl, _), chi in zip(basis.group.elements, basis.group.characters):
        if (perm, fl) not in cache:
            cache[(perm, fl)] = dense_group_element(D, perm, fl, cdag)
        P += np.conj(chi) * cache[(perm, fl)]
    P /= basis.group.order
    P[~mask] = 0
    P[:, ~mask] = 0
    w, U = np.linalg.eigh((P + P.conj().T) / 2)
    return U[:, w > 0.5]


def gauge_free_check(A_dense, H_dense, M, H_left, H_right, R_left, R_right):
    """Singular values of the block and of ``H A - A H`` agree with the dense ones."""
    ref = R_left.conj().T @ A_dense @ R_right
    comm_ref = R_left.conj().T @ (H_dense @ A_dense - A_dense @ H_dense) @ R_right
    assert M.shape == ref.shape
    sv = lambda X: np.linalg.svd(X, compute_uv=False)  # noqa: E731
    np.testing.assert_allclose(sv(M), sv(ref), atol=1e-10)
    np.testing.assert_allclose(sv(H_left @ M - M @ H_right), sv(comm_ref), atol=1e-10)
    assert sv(ref).max() > 0.1


@pytest.mark.parametrize("m, q", [(0, 1), (1, 1), (1, 2), (3, 3)])
def test_electron_creation_at_momentum_q_moves_k_to_k_plus_q(m, q):
    L = 4
    lat = make_lattice("chain", [L])
    model = hubbard(lat, t=1.0, U=2.5)
    space, H = model
    (_, perm, _), = translation_generators(lat)
    gens = lambda k: [Generator("T", perm, False, momentum_character(k, L))]  # noqa: E731
    right = symmetric_case(lat, space, {"N_up": 1, "N_dn": 2}, gens, m)
    left = symmetric_case(lat, space, {"N_up": 2, "N_dn": 2}, gens, m + q)
    A = fourier(L, q, lambda j: ops.cdag(j, 0))
    M = block(A, left, right)
    D = DenseSystem(["electron"] * L)
    cdag = {mode: sparse.csr_matrix(D.cdag(*mode)) for mode in D.modes}
    A_dense = sum(np.exp(2j * np.pi * q * j / L) / np.sqrt(L) * D.cdag(j, "up") for j in range(L))
    H_dense = -1.0 * sum(D.cdag((j + 1) % L, s) @ D.c(j, s) + D.cdag(j, s) @ D.c((j + 1) % L, s)
                         for j in range(L) for s in ("up", "dn"))
    H_dense = H_dense + 2.5 * sum(D.n(j, "up") @ D.n(j, "dn") for j in range(L))
    compiled = compile_operator(H, space, right.sector.names)
    H_right = symmetric_matrix_dense(compiled, right, COMM)
    H_left = symmetric_matrix_dense(compile_operator(H, space, left.sector.names), left, COMM)
    cache = {}
    gauge_free_check(A_dense, H_dense, M, H_left, H_right, projector_range(D, space, left, cache, cdag),
                     projector_range(D, space, right, cache, cdag))
    if (2 * q) % L:  # k - q is another sector: refused, naming the characters
        wrong = symmetric_case(lat, space, {"N_up": 2, "N_dn": 2}, gens, m - q)
        with pytest.raises(SectorError, match="character"):
            check_sectors(A, wrong, right)


@pytest.mark.parametrize("m, q", [(0, 1), (2, 1), (1, 3)])
def test_spin_raising_at_momentum_q_between_symmetric_sectors(m, q):
    L = 6
    lat = make_lattice("chain", [L])
    space, H = heisenberg(lat, J2=0.3)
    (_, perm, _), = translation_generators(lat)
    gens = lambda k: [Generator("T", perm, False, momentum_character(k, L))]  # noqa: E731
    right = symmetric_case(lat, space, {"Sz": 0}, gens, m)
    left = symmetric_case(lat, space, {"Sz": 1}, gens, m + q)
    A = fourier(L, q, ops.Sp)
    M = block(A, left, right)
    D, H_dense = dense_heisenberg(L, J2=0.3, h=0.0)
    A_dense = sum(np.exp(2j * np.pi * q * j / L) / np.sqrt(L) * D.spin(j, "+") for j in range(L))
    H_right = symmetric_matrix_dense(compile_operator(H, space, ["Sz"]), right, COMM)
    H_left = symmetric_matrix_dense(compile_operator(H, space, ["Sz"]), left, COMM)
    cache = {}
    gauge_free_check(A_dense, H_dense, M, H_left, H_right, projector_range(D, space, left, cache, None),
                     projector_range(D, space, right, cache, None))


def test_wrong_sectors_are_refused_with_the_change():
    L = 4
    space = Space.uniform("electron", L)
    right = U1Basis(Sector(space, {"N_up": 1, "N_dn": 1}))
    with pytest.raises(SectorError, match=r"changes N_up by \+1, but the sectors differ by \+0"):
        check_sectors(ops.cdag(0, 0), right, right)
    with pytest.raises(SectorError, match="another amount"):
        check_sectors(ops.cdag(0, 0) + ops.cdag(1, 1), U1Basis(Sector(space, {"N_up": 2, "N_dn": 1})), right)
    with pytest.raises(SectorError, match="different charges"):
        check_sectors(ops.cdag(0, 0), U1Basis(Sector(space, {"N": 3})), right)
    lat = make_lattice("chain", [L])
    (_, perm, _), = translation_generators(lat)
    sym = SymmetricBasis(Sector(space, {"N_up": 1, "N_dn": 1}), SymmetryGroup(L, [Generator("T", perm, False, 1)]), COMM)
    sym2 = SymmetricBasis(Sector(space, {"N_up": 2, "N_dn": 1}), SymmetryGroup(L, [Generator("T", perm, False, 1)]), COMM)
    with pytest.raises(SectorError, match="does not transform"):
        check_sectors(ops.cdag(0, 0), sym2, sym)  # a local operator carries no momentum
    with pytest.raises(SectorError, match="U\\(1\\) basis and a symmetric one"):
        check_sectors(ops.cdag(0, 0), sym2, right)
