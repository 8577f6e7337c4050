"""fockmpi's matrices against independent dense Kronecker-product matrices, analytic results,
and the union of all U(1) sectors against the full spectrum (serial, no PETSc)."""
import itertools

import numpy as np
import pytest
from dense_matrices import all_sectors, matrix_elements_dense
from dense_reference import DenseSystem

from fockmpi.models import ops
from fockmpi.basis.sector import Sector
from fockmpi.basis.u1 import U1Basis
from fockmpi.operator.compile import compile_operator
from fockmpi.models.space import LocalSpace, Space


def fockmpi_spectrum(H, space, charges=None):
    sector = Sector(space, charges or {})
    compiled = compile_operator(H, space, sector.names)
    dense = matrix_elements_dense(compiled, U1Basis(sector))
    assert np.allclose(dense, dense.conj().T)
    return np.linalg.eigvalsh(dense)


def random_graph(rng, n, p=0.6):
    edges = [(i, j) for i, j in itertools.combinations(range(n), 2) if rng.random() < p]
    return edges or [(0, 1)]


def random_model(kind, n, seed, complex_=False):
    """The same random Hamiltonian as a fockmpi Operator and as a dense matrix."""
    rng = np.random.default_rng(seed)
    kinds = [kind] * n if kind != "boson" else [("boson", 2)] * n
    D = DenseSystem(kinds)
    H = ops.Operator()
    M = np.zeros((D.dim, D.dim), dtype=complex)
    cplx = lambda: rng.normal() + (1j * rng.normal() if complex_ else 0)
    for i, j in random_graph(rng, n):
        if kind == "spin":
            jxy, jz = rng.normal(), rng.normal()
            H += jxy * (ops.Sx(i) * ops.Sx(j) + ops.Sy(i) * ops.Sy(j)) + jz * ops.Sz(i) * ops.Sz(j)
            M += jxy * (D.spin(i, "x") @ D.spin(j, "x") + D.spin(i, "y") @ D.spin(j, "y")) \
                + jz * D.spin(i, "z") @ D.spin(j, "z")
            if complex_:  # Dzyaloshinskii-Moriya term keeps Sz: D (Sx_i Sy_j - Sy_i Sx_j)
                d = rng.normal()
                H += d * (ops.Sx(i) * ops.Sy(j) - ops.Sy(i) * ops.Sx(j))
                M += d * (D.spin(i, "x") @ D.spin(j, "y") - D.spin(i, "y") @ D.spin(j, "x"))
        elif kind == "fermion":
            t, v = cplx(), rng.normal()
            H += (t * ops.cdag(i) * ops.c(j)).plus_hc() + v * ops.n(i) * ops.n(j)
            h = t * D.cdag(i) @ D.c(j)
            M += h + h.conj().T + v * D.n(i) @ D.n(j)
        elif kind == "electron":
            for s in ("up", "dn"):
                t = cplx()
                H += (t * ops.cdag(i, s) * ops.c(j, s)).plus_hc()
                h = t * D.cdag(i, s) @ D.c(j, s)
                M += h + h.conj().T
            # spin exchange through fermion operators: cdag_i,up c_i,dn cdag_j,dn c_j,up + h.c.
            x = rng.normal()
            H += (x * ops.cdag(i, "up") * ops.c(i, "dn") * ops.cdag(j, "dn") * ops.c(j, "up")).plus_hc()
            h = x * D.cdag(i, "up") @ D.c(i, "dn") @ D.cdag(j, "dn") @ D.c(j, "up")
            M += h + h.conj().T
        else:
            t = cplx()
            H += (t * ops.bdag(i) * ops.b(j)).plus_hc()
            h = t * D.bdag(i) @ D.b(j)
            M += h + h.conj().T
    for i in range(n):
        u, mu = rng.normal(), rng.normal()
        if kind == "spin":
            H += mu * ops.Sz(i)
            M += mu * D.spin(i, "z")
        elif kind == "fermion":
            H += mu * ops.n(i)
            M += mu * D.n(i)
        elif kind == "electron":
            H += u * ops.n(i, "up") * ops.n(i, "dn") + mu * ops.n(i, "dn")
            M += u * D.n(i, "up") @ D.n(i, "dn") + mu * D.n(i, "dn")
        else:
            H += u * ops.nb(i) * (ops.nb(i) - 1) + mu * ops.nb(i)
            nb = D.bdag(i) @ D.b(i)
            M += u * nb @ (nb - np.eye(D.dim)) + mu * nb
    space = Space([LocalSpace(kind, nmax=2 if kind == "boson" else None)] * n)
    return H, space, M, D


CASES = [("spin", 7), ("fermion", 7), ("electron", 4), ("boson", 5)]


@pytest.mark.parametrize("kind,n", CASES)
@pytest.mark.parametrize("seed", [1, 2])
@pytest.mark.parametrize("complex_", [False, True])
def test_random_models_full_space_against_dense(kind, n, seed, complex_):
    H, space, M, _ = random_model(kind, n, seed, complex_)
    assert np.allclose(fockmpi_spectrum(H, space), np.linalg.eigvalsh(M), atol=1e-10)


@pytest.mark.parametrize("kind,n", CASES)
def test_every_sector_against_dense_and_union_is_full_spectrum(kind, n):
    H, space, M, D = random_model(kind, n, 7, complex_=True)
    names = {"spin": ["Sz"], "fermion": ["N"], "electron": ["N_up", "N_dn"], "boson": ["N"]}[kind]
    union = []
    for sector in all_sectors(space, names):
        ours = fockmpi_spectrum(H, space, sector.physical_values())
        ref = D.sector_eigvals(M, **sector.physical_values())
        assert np.allclose(ours, ref, atol=1e-10), sector.label()
        union.append(ours)
    assert np.allclose(np.sort(np.concatenate(union)), np.linalg.eigvalsh(M), atol=1e-10)


def _jw_amplitude(op, space, occupied_local):
    """{final local states: <final|op|initial>} for one initial basis state, from fockmpi."""
    compiled = compile_operator(op, space, check_hermitian=False)
    basis = U1Basis(Sector(space, {}))
    dense = matrix_elements_dense(compiled, basis)
    row = int(basis.index_of(space.encode(np.array([occupied_local])))[0])
    finals = np.flatnonzero(dense[row])  # dense[i, f] = conj(<f|op|i>)
    return {tuple(space.decode(basis.states[f:f + 1])[0]): np.conj(dense[row, f]) for f in finals}


def test_jordan_wigner_sign_with_particles_in_between():
    space = Space.uniform("fermion", 3)
    # |0 1 1> = cdag_1 cdag_2 |0>;  cdag_0 c_2 |0 1 1> = - cdag_0 cdag_1 |0> = -|1 1 0>
    assert _jw_amplitude(ops.cdag(0) * ops.c(2), space, [0, 1, 1]) == {(1, 1, 0): -1.0}
    # with the middle mode empty there is no sign
    assert _jw_amplitude(ops.cdag(0) * ops.c(2), space, [0, 0, 1]) == {(1, 0, 0): 1.0}


def test_spinful_mode_order_up_before_down():
    space = Space.uniform("electron", 2)
    # modes (0,up) (0,dn) (1,up) (1,dn); |psi> = cdag_0up cdag_1up |0>, local states (1, 1)
    # cdag_0dn c_1up |psi> = cdag_0dn (-cdag_0up) |0> ... = + cdag_0up cdag_0dn |0>  -> local (3, 0)
    assert _jw_amplitude(ops.cdag(0, "dn") * ops.c(1, "up"), space, [1, 1]) == {(3, 0): 1.0}
    # c_0up on a doubly occupied site: no sign; c_0dn on it: sign from the up mode
    assert _jw_amplitude(ops.c(0, "up"), space, [3, 0]) == {(2, 0): 1.0}
    assert _jw_amplitude(ops.c(0, "dn"), space, [3, 0]) == {(1, 0): -1.0}


def test_free_fermions_ring_every_level():
    """Spinless fermions on a ring (N even and odd): levels are sums of -2t cos(2 pi m / L)."""
    L, t = 8, 1.0
    space = Space.uniform("fermion", L)
    H = sum(((-t * ops.cdag(i) * ops.c((i + 1) % L)).plus_hc() for i in range(L)), ops.Operator())
    eps = -2 * t * np.cos(2 * np.pi * np.arange(L) / L)
    for N in (2, 3, 4):
        ref = np.sort([sum(c) for c in itertools.combinations(eps, N)])
        assert np.allclose(fockmpi_spectrum(H, space, {"N": N}), ref, atol=1e-10)


def test_free_fermions_random_complex_hopping_every_level():
    rng = np.random.default_rng(3)
    L = 7
    h = rng.normal(size=(L, L)) + 1j * rng.normal(size=(L, L))
    h = h + h.conj().T
    space = Space.uniform("fermion", L)
    H = sum((h[i, j] * ops.cdag(i) * ops.c(j) for i in range(L) for j in range(L)), ops.Operator())
    eps = np.linalg.eigvalsh(h)
    for N in (2, 3):
        ref = np.sort([sum(c) for c in itertools.combinations(eps, N)])
        assert np.allclose(fockmpi_spectrum(H, space, {"N": N}), ref, atol=1e-10)


def test_free_electrons_hubbard_u0():
    L = 5
    space = Space.uniform("electron", L)
    H = sum(((-1.0 * ops.cdag(i, s) * ops.c((i + 1) % L, s)).plus_hc()
             for i in range(L) for s in ("up", "dn")), ops.Operator())
    eps = -2 * np.cos(2 * np.pi * np.arange(L) / L)
    ref = np.sort([sum(a) + sum(b) for a in itertools.combinations(eps, 2) for b in itertools.combinations(eps, 3)])
    assert np.allclose(fockmpi_spectrum(H, space, {"N_up": 2, "N_dn": 3}), ref, atol=1e-10)


@pytest.mark.parametrize("U", [0.0, 1.0, 4.0, 10.0])
def test_two_site_hubbard_closed_form(U):
    t = 1.0
    space = Space.uniform("electron", 2)
    H = sum(((-t * ops.cdag(0, s) * ops.c(1, s)).plus_hc() for s in ("up", "dn")), ops.Operator())
    H += U * (ops.n(0, "up") * ops.n(0, "dn") + ops.n(1, "up") * ops.n(1, "dn"))
    ref = np.sort([(U - np.sqrt(U ** 2 + 16 * t ** 2)) / 2, 0.0, U, (U + np.sqrt(U ** 2 + 16 * t ** 2)) / 2])
    assert np.allclose(fockmpi_spectrum(H, space, {"N_up": 1, "N_dn": 1}), ref, atol=1e-12)


@pytest.mark.parametrize("U", [0.0, 2.0, 7.0])
def test_two_site_bose_hubbard_closed_form(U):
    t = 1.0
    space = Space.uniform("boson", 2, nmax=2)
    H = (-t * ops.bdag(0) * ops.b(1)).plus_hc()
    H += 0.5 * U * sum((ops.nb(i) * (ops.nb(i) - 1) for i in range(2)), ops.Operator())
    r = np.sqrt(U ** 2 + 16 * t ** 2)
    assert np.allclose(fockmpi_spectrum(H, space, {"N": 2}), np.sort([(U - r) / 2, U, (U + r) / 2]), atol=1e-12)


def bethe_ansatz_ground_state(L, J=1.0):
    """Heisenberg ring ground state (M = L/2 magnons) from the Bethe equations, by iteration."""
    M = L // 2
    I = np.arange(M) - (M - 1) / 2
    lam = np.tan(np.pi * I / L) / 2
    for _ in range(20000):
        new = 0.5 * np.tan((np.pi * I + np.arctan(lam[:, None] - lam[None, :]).sum(1)) / L)
        if np.max(np.abs(new - lam)) < 1e-15:
            break
        lam = 0.5 * new + 0.5 * lam
    return J * L / 4 - J * np.sum(2.0 / (4 * lam ** 2 + 1))


@pytest.mark.parametrize("L", [6, 8, 10, 12, 14])
def test_heisenberg_ring_bethe_ansatz(L):
    space = Space.uniform("spin", L)
    H = sum((0.5 * (ops.Sp(i) * ops.Sm((i + 1) % L) + ops.Sm(i) * ops.Sp((i + 1) % L))
             + ops.Sz(i) * ops.Sz((i + 1) % L) for i in range(L)), ops.Operator())
    assert abs(fockmpi_spectrum(H, space, {"Sz": 0})[0] - bethe_ansatz_ground_state(L)) < 1e-10


def test_boson_cutoff_uses_truncated_products():
    """b b^dag on |nmax> is 0 with a cutoff (not b^dag b + 1): products are taken as written."""
    space = Space.uniform("boson", 1, nmax=3)
    ev = fockmpi_spectrum(ops.b(0) * ops.bdag(0), space)
    assert np.allclose(ev, [0, 1, 2, 3])
