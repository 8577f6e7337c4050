"""Operator algebra: canonical (anti)commutation relations, conjugation, normal ordering, parsing."""
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fockmpi.models import ops
from fockmpi.errors import OperatorError

sites = st.integers(0, 4)
spins = st.sampled_from([None, "up", "dn"])


def zero(x):
    return ops.normal_ordered(x).is_zero()


@given(sites, spins, sites, spins)
def test_fermion_anticommutators(i, si, j, sj):
    delta = 1.0 if (i, si) == (j, sj) else 0.0
    assert zero(ops.anticommutator(ops.c(i, si), ops.cdag(j, sj)) - delta)
    assert zero(ops.anticommutator(ops.c(i, si), ops.c(j, sj)))
    assert zero(ops.anticommutator(ops.cdag(i, si), ops.cdag(j, sj)))


@given(sites, sites)
def test_boson_commutators(i, j):
    assert zero(ops.commutator(ops.b(i), ops.bdag(j)) - (1.0 if i == j else 0.0))
    assert zero(ops.commutator(ops.b(i), ops.b(j)))


@given(sites, sites)
def test_spin_algebra(i, j):
    d = 1.0 if i == j else 0.0
    assert zero(ops.commutator(ops.Sp(i), ops.Sm(j)) - 2 * d * ops.Sz(i))
    assert zero(ops.commutator(ops.Sz(i), ops.Sp(j)) - d * ops.Sp(i))
    assert zero(ops.commutator(ops.Sx(i), ops.Sy(j)) - 1j * d * ops.Sz(i))
    # spin-1/2: S^2 = 3/4
    s2 = ops.Sx(i) * ops.Sx(i) + ops.Sy(i) * ops.Sy(i) + ops.Sz(i) * ops.Sz(i)
    assert zero(s2 - 0.75)


def test_fermions_and_bosons_and_spins_commute_across_species():
    assert zero(ops.commutator(ops.c(0), ops.b(1)))
    assert zero(ops.commutator(ops.cdag(0, "up"), ops.Sp(2)))


factor = st.sampled_from([ops.c, ops.cdag]).flatmap(lambda f: st.tuples(st.just(f), sites, spins))


@st.composite
def fermion_polynomials(draw):
    terms = draw(st.lists(st.tuples(st.complex_numbers(max_magnitude=3, allow_nan=False, allow_infinity=False),
                                    st.lists(factor, min_size=0, max_size=4)), min_size=1, max_size=4))
    out = ops.Operator()
    for coef, factors in terms:
        term = ops.identity() * coef
        for f, i, s in factors:
            term = term * f(i, s)
        out = out + term
    return out


@settings(max_examples=60, deadline=None)
@given(fermion_polynomials())
def test_normal_order_is_idempotent_and_preserves_the_operator(x):
    nx = ops.normal_ordered(x)
    assert zero(nx - x)
    assert ops.normal_ordered(nx).terms.keys() == nx.terms.keys()
    for key in nx.terms:  # creators left of annihilators
        kinds = [k[0][1] for k in key]
        assert kinds == sorted(kinds, key=lambda s: s != "+")


@settings(max_examples=60, deadline=None)
@given(fermion_polynomials())
def test_hermitian_conjugate(x):
    assert zero(x.hc().hc() - x)
    assert ops.is_hermitian(x + x.hc())
    assert ops.is_hermitian(1j * (x - x.hc()))


def test_is_hermitian_detects_missing_partner():
    assert not ops.is_hermitian(ops.cdag(0) * ops.c(1))
    assert ops.is_hermitian((ops.cdag(0) * ops.c(1)).plus_hc())
    assert not ops.is_hermitian(1j * ops.n(0))


def test_parse_matches_python_api():
    kinds = {0: "spin", 1: "spin", 2: "electron", 3: "electron", 4: "boson", 5: "fermion"}.get
    assert zero(ops.parse_operator("S+_0 S-_1", kinds) - ops.Sp(0) * ops.Sm(1))
    assert zero(ops.parse_operator("cdag_2,up c_3,dn", kinds) - ops.cdag(2, "up") * ops.c(3, "dn"))
    assert zero(ops.parse_operator("n_2", kinds) - ops.n(2, "up") - ops.n(2, "dn"))
    assert zero(ops.parse_operator("n_4", kinds) - ops.nb(4))
    assert zero(ops.parse_operator("bdag_4 * b_4", kinds) - ops.nb(4))
    assert zero(ops.parse_operator("cdag_i,s c_j,s", kinds, {"i": 2, "j": 3})
                - ops.cdag(2, "up") * ops.c(3, "up") - ops.cdag(2, "dn") * ops.c(3, "dn"))


@pytest.mark.parametrize("text, message", [
    ("Sq_0", "did you mean"),
    ("c_0", "electrons"),
    ("S+_2", "acts on spin sites"),
    ("cdag_5,up", "spinless"),
    ("S+_i", "template letter"),
    ("b_0", "boson sites"),
    ("", "empty"),
])
def test_parse_errors_name_the_problem(text, message):
    kinds = {0: "electron", 2: "electron", 5: "fermion"}.get
    with pytest.raises(OperatorError, match=message):
        ops.parse_operator(text, lambda i: kinds(i, "electron") if i != 7 else "spin")


def test_format_roundtrip_is_readable():
    text = str((0.5 * ops.cdag(1, "up") * ops.c(2, "up")).plus_hc())
    assert "cdag_1,up c_2,up" in text and "cdag_2,up c_1,up" in text
