"""The row generator: monomials indexed by the bits they need give the same rows as a plain
scan, and a Hamiltonian written with many more terms is the same matrix (tests/dense_reference.py
builds it independently)."""
import itertools

import numpy as np
import pytest
from dense_matrices import matrix_elements_dense
from dense_reference import DenseSystem

from fockmpi.models import ops
from fockmpi.basis.sector import Sector
from fockmpi.basis.u1 import U1Basis
from fockmpi.operator.compile import _index_by_condition, compile_operator
from fockmpi.models.space import Space

L = 8


def gate_sites(i, j, width):
    """``width`` sites other than i and j that gate the flip of (i, j)."""
    return [k for k in itertools.chain(range(j + 1, L), range(L)) if k not in (i, j)][:width]


def plain(L):
    H = ops.Operator()
    for i, j in itertools.combinations(range(L), 2):
        H += (0.3 + 0.1 * i - 0.05 * j) * ops.Sx(i) * ops.Sx(j) + 0.2 * ops.Sz(i) * ops.Sz(j)
    return H


def gated(L, width=3):
    """``plain`` with every flip written as 2^width terms, one per configuration of the gate
    sites (the projectors S+S- and S-S+ sum to one, but as products they do not cancel
    symbolically): the same operator with 2^width times the terms."""
    H = ops.Operator()
    for i, j in itertools.combinations(range(L), 2):
        flip = (0.3 + 0.1 * i - 0.05 * j) * ops.Sx(i) * ops.Sx(j)
        for pattern in itertools.product((0, 1), repeat=width):
            term = flip
            for k, up in zip(gate_sites(i, j, width), pattern):
                term = term * (ops.Sp(k) * ops.Sm(k) if up else ops.Sm(k) * ops.Sp(k))
            H += term
        H += 0.2 * ops.Sz(i) * ops.Sz(j)
    return H


def dense_plain(L):
    D = DenseSystem(["spin"] * L)
    H = 0
    for i, j in itertools.combinations(range(L), 2):
        H = H + (0.3 + 0.1 * i - 0.05 * j) * D.spin(i, "x") @ D.spin(j, "x") + 0.2 * D.spin(i, "z") @ D.spin(j, "z")
    return H


def test_gated_terms_give_the_same_matrix_through_search_groups():
    space = Space.uniform("spin", L)
    basis = U1Basis(Sector(space, {}))
    small = compile_operator(plain(L), space)
    big = compile_operator(gated(L, width=4), space)
    assert big.nmonomials > 4 * small.nmonomials
    assert not big.grp_scan.all()  # the gated flips are searched, not scanned
    reference = dense_plain(L)
    np.testing.assert_allclose(matrix_elements_dense(small, basis), reference, atol=1e-12)
    np.testing.assert_allclose(matrix_elements_dense(big, basis), reference, atol=1e-12)


@pytest.mark.parametrize("scan_group", [0, 1, 2, 10 ** 9])
def test_search_and_scan_groups_agree(scan_group):
    """Whatever the split into search and scan groups, the rows are the same."""
    space = Space.uniform("spin", L)
    basis = U1Basis(Sector(space, {}))
    big = compile_operator(gated(L, width=2), space)
    expected = matrix_elements_dense(big, basis)
    bitwise = [tuple(int(x) for x in m) + (c,) for m, c in zip(big.bit_masks, big.bit_coef)]
    big.grp_ptr, big.grp_mask, big.grp_scan, big.ngdiag = _index_by_condition(bitwise, big.nbdiag, scan_group)
    if scan_group == 10 ** 9:
        assert big.grp_scan.all()
    elif scan_group <= 1:
        assert not big.grp_scan.all()
    np.testing.assert_allclose(matrix_elements_dense(big, basis), expected, atol=1e-12)


def test_groups_never_mix_diagonal_and_off_diagonal_monomials():
    space = Space.uniform("spin", L)
    c = compile_operator(plain(L) + gated(L, 2), space)
    for g in range(len(c.grp_mask)):
        lo, hi = c.grp_ptr[g], c.grp_ptr[g + 1]
        diagonal = c.bit_masks[lo:hi, 2] == 0
        assert diagonal.all() == (g < c.ngdiag) and (diagonal.all() or not diagonal.any())


@pytest.mark.parametrize("count, lo, hi, window", [(0, 0, 1, 64), (7, 5, 6, 64), (1000, 100, 5000, 64),
                                                   (100_000, 10**6, 3 * 10**6, 1 << 14),
                                                   (20_000, 0, 2**31 - 1, 1 << 30)])
def test_ghost_columns_numbered_as_by_a_sort(count, lo, hi, window):
    """kernels.columns_to_ghosts (bits per window of columns, no sort) gives np.unique's
    distinct columns and positions, over one window or many."""
    from fockmpi import kernels
    cols = np.random.default_rng(count).integers(lo, hi, count).astype(np.int32)
    distinct, position = np.unique(cols, return_inverse=True)
    got = kernels.columns_to_ghosts(cols, window=window)
    assert np.array_equal(got, distinct) and np.array_equal(cols, position)
