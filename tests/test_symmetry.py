"""Lattice-symmetry sectors against independent references (serial; see tests/mpi for ranks).

* the union over all sectors of a group equals the U(1) spectrum, degeneracies included;
* eigenvalues per sector equal those of P H P with the projector P = (1/|G|) sum conj(chi(g)) g
  built here from dense matrices of the same permutations (fermion signs from products of
  creation matrices on the vacuum, not from fockmpi's bit tricks);
* free fermions: each momentum sector holds exactly the sums of single-particle energies
  whose momenta add up to it (a flux makes +k and -k differ, which pins the sign convention).
"""
import itertools

import numpy as np
import pytest
from dense_reference import DenseSystem

from dense_matrices import matrix_elements_dense, symmetric_matrix_dense
from fockmpi.basis.sector import Sector
from fockmpi.basis.symmetric import SymmetricBasis
from fockmpi.basis.u1 import U1Basis
from fockmpi.jobfile.table import Table
from fockmpi.errors import SectorError
from fockmpi.operator.compile import compile_operator
from fockmpi.models.lattice import make_lattice
from fockmpi.jobfile.model import model_from_table
from fockmpi.parallel import world
from fockmpi.symmetry.group import Generator, SymmetryGroup
from fockmpi.symmetry.lattice import (
    chain_reflection,
    lattice_cells,
    momentum_character,
    translation_generators,
)

COMM = world()


def problem(model, kind, size, charges, boundary="periodic"):
    lat = make_lattice(kind, size, boundary)
    space, H = model_from_table(Table(dict(model), "[model]"), lat)
    sector = Sector(space, charges)
    return lat, space, sector, compile_operator(H, space, sector.names)


def sector_spectrum(compiled, sector, gens, cells=None):
    """Eigenvalues of one sector; ``cells`` switches on the kernels' shift translations."""
    try:
        basis = SymmetricBasis(sector, SymmetryGroup(sector.space.nsites, gens, cells), COMM)
    except SectorError as e:
        assert "empty" in str(e)
        return np.zeros(0)
    M = symmetric_matrix_dense(compiled, basis, COMM)
    assert np.allclose(M, M.conj().T, atol=1e-12)
    return np.linalg.eigvalsh(M)


def momentum_sectors(lat):
    """Every combination of momenta of the lattice's translations, as generator lists."""
    trans = translation_generators(lat)
    for ms in itertools.product(*[range(n) for _, _, n in trans]):
        yield ms, [Generator(name, perm, False, momentum_character(m, n)) for (name, perm, n), m in zip(trans, ms)]


CASES = [  # model, lattice kind, size, charges, with reflection, with spin flip
    ({"type": "heisenberg", "J2": 0.3}, "chain", [10], {"Sz": 0}, True, True),
    ({"type": "heisenberg", "J2": 0.3}, "chain", [9], {"Sz": 0.5}, True, False),
    ({"type": "xxz", "Delta": 0.4, "h": 0.2}, "chain", [8], {"Sz": 1}, True, False),
    ({"type": "tV", "t": 1.0, "V": 1.3}, "chain", [10], {"N": 4}, True, False),   # even N: sign matters
    ({"type": "tV", "t": 1.0, "V": 1.3}, "chain", [10], {"N": 5}, True, False),
    ({"type": "hubbard", "t": 1.0, "U": 3.0, "mu": 0.2}, "chain", [6], {"N_up": 3, "N_dn": 3}, True, True),
    ({"type": "hubbard", "t": 1.0, "U": 3.0}, "chain", [6], {"N_up": 2, "N_dn": 3}, True, False),
    ({"type": "bose_hubbard", "t": 1.0, "U": 3.0, "mu": 0.1, "nmax": 3}, "chain", [6], {"N": 6}, True, False),
    ({"type": "heisenberg", "J2": 0.4}, "square", [3, 4], {"Sz": 0}, False, True),
    ({"type": "heisenberg", "J2": 0.3}, "square", [4, 4], {"Sz": 3}, False, False),  # 16 momenta, dim 4368
    ({"type": "heisenberg"}, "ladder", [5], {"Sz": 0}, False, True),
    ({"type": "heisenberg"}, "triangular", [3, 3], {"Sz": 0.5}, False, False),
    ({"type": "heisenberg"}, "kagome", [2, 2], {"Sz": 0}, False, True),
    ({"type": "hubbard", "t": 1.0, "U": 4.0}, "square", [2, 3], {"N_up": 3, "N_dn": 2}, False, False),
    ({"type": "hubbard", "t": 1.0, "U": 2.0}, "ladder", [4], {"N_up": 3, "N_dn": 3}, False, True),  # 2 sites a cell
    ({"type": "hubbard", "t": 1.0, "U": 2.0}, "honeycomb", [2, 2], {"N_up": 2, "N_dn": 3}, False, False),
    ({"type": "tV", "t": 1.0, "V": 0.7}, "square", [3, 3], {"N": 4}, False, False),
    ({"type": "bose_hubbard", "t": 1.0, "U": 2.0, "nmax": 2}, "square", [2, 3], {"N": 4}, False, False),
]


@pytest.mark.parametrize("fast", [True, False], ids=["shift-translations", "table-translations"])
@pytest.mark.parametrize("model, kind, size, charges, refl, flip", CASES,
                         ids=[f"{c[0]['type']}-{c[1]}{c[2]}-{list(c[3].values())}" for c in CASES])
def test_union_of_sectors_is_the_u1_spectrum(model, kind, size, charges, refl, flip, fast):
    lat, _, sector, compiled = problem(model, kind, size, charges)
    ref = np.linalg.eigvalsh(matrix_elements_dense(compiled, U1Basis(sector)))
    L = lat.nsites
    parts = []
    for ms, gens in momentum_sectors(lat):
        extra = [[]]
        if refl:  # a reflection commutes with the translation only at momentum 0 and pi
            n = lat.size[0]
            if ms[0] in (0, n // 2 if n % 2 == 0 else 0):
                extra = [[Generator("P", chain_reflection(lat), False, p)] for p in (1, -1)]
        if flip:
            extra = [e + [Generator("F", None, True, f)] for e in extra for f in (1, -1)]
        for e in extra:
            parts.append(sector_spectrum(compiled, sector, gens + e, lattice_cells(lat) if fast else None))
    ev = np.sort(np.concatenate(parts))
    assert len(ev) == len(ref) and np.allclose(ev, ref, atol=1e-10)
    del L


# --- projector reference ---------------------------------------------------------------------
def dense_group_element(D, perm, flip, cdag):
    """Matrix of a site permutation (and spin flip) on the full space, built from operators
    (``cdag[(site, spin)]``: sparse creation matrices of ``D``)."""
    dim = D.dim
    G = np.zeros((dim, dim))
    v = D.local_states()
    fermionic = D.modes != []
    for col in range(dim):
        if not fermionic:
            loc = np.zeros(len(D.dims), dtype=int)
            for i, x in enumerate(v[col]):
                loc[perm[i]] = (1 - x) if flip else x
            row = int(np.dot(loc, np.cumprod([1] + D.dims[:-1])))
            G[row, col] = 1.0
            continue
        vec = np.zeros(dim)
        vec[0] = 1.0
        ops = []  # creators of the occupied modes, lowest mode leftmost: |n> = c+_a c+_b ... |0>
        for site, spin in D.modes:
            occ = v[col, site] & (1 if spin in (None, "up") else 2)
            if occ:
                target_spin = spin if not flip else {"up": "dn", "dn": "up"}[spin]
                ops.append(cdag[(perm[site], target_spin)])
        for op in reversed(ops):
            vec = op @ vec
        G[:, col] = vec
    return G


@pytest.mark.parametrize("kind, size, model, charges, flip", [
    ("chain", [8], {"type": "tV", "t": 1.0, "V": 0.9}, {"N": 4}, False),
    ("chain", [4], {"type": "hubbard", "t": 1.0, "U": 2.0}, {"N_up": 2, "N_dn": 2}, True),
    ("square", [2, 2], {"type": "hubbard", "t": 1.0, "U": 2.0}, {"N_up": 2, "N_dn": 1}, False),
    ("square", [3, 3], {"type": "heisenberg", "J2": 0.3}, {"Sz": 0.5}, False),
])
def test_sectors_against_an_independent_projector(kind, size, model, charges, flip):
    lat, space, sector, compiled = problem(model, kind, size, charges)
    kinds = [s.kind for s in space.sites]
    D = DenseSystem(kinds)
    H = np.zeros((D.dim, D.dim), dtype=complex)
    u1 = U1Basis(sector)
    local = space.decode(u1.states)
    index = (local * np.cumprod([1] + list(D.dims[:-1]))).sum(axis=1)
    H[np.ix_(index, index)] = matrix_elements_dense(compiled, u1)
    mask = np.zeros(D.dim, dtype=bool)
    mask[index] = True
    from scipy import sparse
    cdag = {m: sparse.csr_matrix(D.cdag(*m)) for m in D.modes}
    cache = {}
    for ms, gens in momentum_sectors(lat):
        flips = [1, -1] if flip else [None]
        for f in flips:
            g_all = gens + ([Generator("F", None, True, f)] if f else [])
            group = SymmetryGroup(lat.nsites, g_all)
            P = np.zeros((D.dim, D.dim), dtype=complex)
            for (perm, fl, _), chi in zip(group.elements, group.characters):
                if (perm, fl) not in cache:
                    cache[(perm, fl)] = dense_group_element(D, perm, fl, cdag)
                P += np.conj(chi) * cache[(perm, fl)]
            P /= group.order
            P = P[np.ix_(mask, mask)]
            w, U = np.linalg.eigh((P + P.conj().T) / 2)
            R = U[:, w > 0.5]  # the range of the projector
            ref = np.linalg.eigvalsh(R.conj().T @ H[np.ix_(mask, mask)] @ R) if R.shape[1] else np.zeros(0)
            ours = sector_spectrum(compiled, sector, g_all, lattice_cells(lat))
            assert len(ours) == len(ref) and np.allclose(ours, ref, atol=1e-10), (ms, f)


def test_free_fermions_with_flux_fill_their_momentum_sectors():
    L, N, t, phi = 10, 4, 1.0, 0.37
    lat = make_lattice("chain", [L])
    c = t * np.exp(1j * phi)
    terms = [{"op": f"cdag_{(j + 1) % L} c_{j}", "coef": [-c.real, -c.imag], "hc": True} for j in range(L)]
    space, H = model_from_table(Table({"type": "custom", "site": "fermion", "term": terms}, "[model]"), lat)
    sector = Sector(space, {"N": N})
    compiled = compile_operator(H, space, sector.names)
    (_, perm, _), = translation_generators(lat)
    eps = -2 * t * np.cos(2 * np.pi * np.arange(L) / L - phi)  # plane wave sum_j e^{iqj} c+_j
    for m in range(L):
        ref = sorted(sum(eps[list(occ)]) for occ in itertools.combinations(range(L), N)
                     if sum(occ) % L == m)
        ours = sector_spectrum(compiled, sector, [Generator("T", perm, False, momentum_character(m, L))])
        assert np.allclose(ours, ref, atol=1e-10), m


def test_reflection_needs_momentum_zero_or_pi():
    lat = make_lattice("chain", [8])
    (_, perm, _), = translation_generators(lat)
    gens = [Generator("T", perm, False, momentum_character(1, 8)), Generator("P", chain_reflection(lat), False, 1)]
    with pytest.raises(SectorError, match="do not commute"):
        SymmetryGroup(8, gens)
    SymmetryGroup(8, [Generator("T", perm, False, momentum_character(4, 8)), gens[1]])  # pi is fine


def test_spin_flip_needs_spin_or_electron_sites():
    _, _, sector, _ = problem({"type": "tV", "t": 1.0}, "chain", [6], {"N": 3})
    group = SymmetryGroup(6, [Generator("F", None, True, 1)])
    with pytest.raises(SectorError, match="spin flip"):
        SymmetricBasis(sector, group, COMM)


# --- point groups -----------------------------------------------------------------------------
@pytest.mark.parametrize("lattice, model, charges, momentum", [
    ({"type": "square", "size": [3, 3]}, {"type": "heisenberg", "J2": 0.3}, {"Sz": 0.5}, [0, 0]),
    ({"type": "square", "size": [2, 2]}, {"type": "hubbard", "U": 3.0}, {"N_up": 2, "N_dn": 1}, [1, 1]),
    ({"type": "square", "size": [2, 4]}, {"type": "heisenberg"}, {"Sz": 0}, [1, 2]),
    ({"type": "triangular", "size": [3, 3]}, {"type": "heisenberg"}, {"Sz": 0.5}, [0, 0]),
    ({"type": "honeycomb", "size": [2, 2]}, {"type": "heisenberg"}, {"Sz": 0}, [0, 0]),
    ({"type": "square", "size": [3, 3]}, {"type": "tV", "V": 0.8}, {"N": 4}, [0, 0]),
    ({"type": "square", "size": [3, 3]}, {"type": "heisenberg", "J2": 0.3}, {"Sz": 0.5}, [1, 0]),
    ({"type": "square", "size": [3, 3]}, {"type": "heisenberg", "J2": 0.3}, {"Sz": 0.5}, [1, 1]),
    ({"type": "triangular", "size": [3, 3]}, {"type": "heisenberg"}, {"Sz": 0.5}, [1, 2]),
    ({"type": "triangular", "size": [3, 3]}, {"type": "heisenberg"}, {"Sz": 0.5}, [1, 0]),
    ({"type": "kagome", "size": [2, 2]}, {"type": "heisenberg"}, {"Sz": 0}, [0, 0]),
    ({"type": "honeycomb", "size": [2, 2]}, {"type": "tV", "V": 0.8}, {"N": 3}, [1, 0]),
    ({"type": "kagome", "size": [2, 2]}, {"type": "xxz", "Delta": 0.6}, {"Sz": 1}, [1, 0]),
], ids=["square3x3", "hubbard2x2-M", "rect2x4-X", "triangular3x3", "honeycomb2x2", "tV3x3", "square3x3-Cs",
        "square3x3-diagonal", "triangular3x3-K", "triangular3x3-M", "kagome2x2", "honeycomb2x2-tV-M", "kagome2x2-M"])
def test_point_group_irreps_against_an_independent_projector(lattice, model, charges, momentum):
    from scipy import sparse

    from fockmpi.jobfile.table import parse_job
    from fockmpi.app.pipeline import build_problem
    from fockmpi.symmetry.lattice import little_group
    base = build_problem(parse_job({"lattice": lattice, "model": model, "sector": dict(charges)}, path="x", text=""))
    kinds = [s.kind for s in base.space.sites]
    D = DenseSystem(kinds)
    u1 = U1Basis(base.sector)
    index = (base.space.decode(u1.states) * np.cumprod([1] + list(D.dims[:-1]))).sum(axis=1)
    H = matrix_elements_dense(base.compiled, u1)
    cdag = {m: sparse.csr_matrix(D.cdag(*m)) for m in D.modes}
    _, _, irreps = little_group(base.lattice, momentum)
    found = 0
    for irrep in irreps:
        sector = dict(charges, momentum=momentum, point_group=irrep)
        try:
            p = build_problem(parse_job({"lattice": lattice, "model": model, "sector": sector}, path="x", text=""))
        except SectorError as e:  # e.g. a mirror that is the identity on a 2-site direction
            assert "does not exist" in str(e)
            continue
        P = 0
        for (perm, flip, _), chi in zip(p.group.elements, p.group.characters):
            P = P + np.conj(chi) * dense_group_element(D, perm, flip, cdag)[np.ix_(index, index)]
        w, U = np.linalg.eigh((P + P.conj().T) / 2 / p.group.order)
        R = U[:, w > 0.5]
        ref = np.linalg.eigvalsh(R.conj().T @ H @ R) if R.shape[1] else np.zeros(0)
        ours = sector_spectrum(p.compiled, p.sector, p.group.generators, lattice_cells(p.lattice))
        assert len(ours) == len(ref) and np.allclose(ours, ref, atol=1e-10), (irrep, len(ours), len(ref))
        found += len(ours)
    assert found > 0


# --- rows on a large cluster, including highly symmetric states --------------------------------
def images(s, perms, flips):
    """Images of one packed spin state under every element (rows of ``perms``, ``flips``)."""
    bits = (np.uint64(s) >> np.arange(perms.shape[1], dtype=np.uint64)) & np.uint64(1)
    return ((bits[None, :] ^ flips[:, None]) << perms).sum(axis=1, dtype=np.uint64)


def _spin_image(s, perm, flip, n):
    """Image of a packed spin state under (site permutation, flip), written out bit by bit."""
    out = 0
    for i in range(n):
        bit = (s >> i) & 1
        out |= (bit ^ int(flip)) << perm[i]
    return out


def test_rows_on_a_6x6_cluster_against_direct_projection():
    """Every matrix element of some rows of the 6x6 Heisenberg model at Gamma, A1, spin flip +1
    (576 symmetry operations) equals <r'~|H|r~> computed from the symmetrized vectors written
    out state by state here, with H applied bond by bond.  The rows include the Neel state and
    stripes, whose large stabilizers make the normalization factors non-trivial."""
    from fockmpi import kernels
    from fockmpi.jobfile.table import parse_job
    from fockmpi.app.pipeline import build_problem
    job = {"lattice": {"type": "square", "size": [6, 6]}, "model": {"type": "heisenberg"},
           "sector": {"Sz": 0, "momentum": [0, 0], "point_group": "A1", "spin_flip": 1}}
    p = build_problem(parse_job(job, path="x", text=""))
    group, n = p.group, 36
    assert group.order == 576
    bonds = [(i, j) for i, j, _ in p.lattice.bonds["nn"]]
    perms = np.array([perm for perm, _, _ in group.elements], dtype=np.uint64)
    flips = np.array([flip for _, flip, _ in group.elements], dtype=np.uint64)
    assert _spin_image(5, group.elements[7][0], group.elements[7][1], n) == images(5, perms, flips)[7]

    def rep_of(s):
        return int(images(s, perms, flips).min())

    def sym_vector(r):
        vec = {}
        for t, chi in zip(images(r, perms, flips), group.characters):
            t = int(t)
            vec[t] = vec.get(t, 0) + np.conj(chi)
        norm = np.sqrt(sum(abs(c) ** 2 for c in vec.values()))
        return {t: c / norm for t, c in vec.items() if abs(c) > 1e-12}

    def apply_h(vec):
        out = {}
        for s, c in vec.items():
            for i, j in bonds:
                a, b = (s >> i) & 1, (s >> j) & 1
                out[s] = out.get(s, 0) + c * (0.25 if a == b else -0.25)
                if a != b:
                    t = s ^ (1 << i) ^ (1 << j)
                    out[t] = out.get(t, 0) + 0.5 * c
        return out

    neel = sum(1 << (x + 6 * y) for y in range(6) for x in range(6) if (x + y) % 2)
    stripes = sum(1 << (x + 6 * y) for y in range(6) for x in range(6) if x % 2)
    rng = np.random.default_rng(7)
    randoms = [sum(1 << int(k) for k in rng.permutation(36)[:18]) for _ in range(2)]
    reps = np.array(sorted({rep_of(s) for s in [neel, stripes] + randoms}), dtype=np.uint64)
    g = group.kernel_args(p.space)
    assert len(g.layout) == 0  # spins: the sort layout is the packed one
    keep = np.empty(len(reps), dtype=np.bool_)
    norms = np.empty(len(reps))
    kernels.find_representatives(reps, *g, keep, norms)
    assert keep.all()  # these states survive A1 and flip +1
    bound = p.compiled.max_row_length()
    ptr = np.zeros(len(reps) + 1, dtype=np.int64)
    st = np.empty(len(reps) * bound, dtype=np.uint64)
    val = np.empty(len(reps) * bound)
    kernels.build_symmetric_rows(reps, norms, True, False, p.compiled.terms(np.float64),
                                 g._replace(chars=g.chars.real.copy()),
                                 ptr, st, val)
    for k, r in enumerate(reps):
        hv = apply_h(sym_vector(int(r)))
        expected = {}
        for rp in {rep_of(s) for s in hv}:
            w = sym_vector(rp)
            if w:
                expected[rp] = sum(np.conj(c) * hv.get(s, 0) for s, c in w.items())
        ours = {int(s): v for s, v in zip(st[ptr[k]:ptr[k + 1]], val[ptr[k]:ptr[k + 1]])}
        assert set(ours) <= set(expected) | {int(r)}
        for rp, e in expected.items():
            if abs(e) > 1e-12 or rp in ours:
                assert rp in ours and abs(ours[rp] - np.conj(e)) < 1e-12, (hex(int(r)), hex(rp), ours.get(rp), e)


# --- particle-hole ------------------------------------------------------------------------------
PH_CASES = [  # lattice, model (particle-hole symmetric: mu = z V / 2, mu = U / 2), charges, sector keys
    ({"type": "chain", "size": [8]}, {"type": "tV", "V": 1.3, "mu": 1.3}, {"N": 4}, {"particle_hole": "all"}),
    ({"type": "chain", "size": [8]}, {"type": "tV", "V": 1.3, "mu": 1.3}, {"N": 4},
     {"particle_hole": "all", "momentum": "all", "reflection": "all"}),  # here C T = -T C: no joint sectors
    ({"type": "chain", "size": [6]}, {"type": "hubbard", "U": 3.0, "mu": 1.5}, {"N_up": 3, "N_dn": 3},
     {"particle_hole": "all", "spin_flip": "all", "momentum": "all"}),
    ({"type": "square", "size": [2, 4]}, {"type": "hubbard", "U": 2.0, "mu": 1.0}, {"N_up": 4, "N_dn": 4},
     {"particle_hole": "all", "momentum": "all"}),
]


@pytest.mark.parametrize("lattice, model, charges, keys", PH_CASES, ids=["tV8", "tV8-k-P", "hub6-k-F", "hub2x4-k"])
def test_particle_hole_sectors_union(lattice, model, charges, keys):
    from mpi4py import MPI

    from fockmpi.jobfile.table import parse_job
    from fockmpi.app.pipeline import build_problem
    base = build_problem(parse_job({"lattice": lattice, "model": model, "sector": dict(charges)}, path="x", text=""))
    ref = np.linalg.eigvalsh(matrix_elements_dense(base.compiled, U1Basis(base.sector)))
    p = build_problem(parse_job({"lattice": lattice, "model": model, "sector": dict(charges, **keys)},
                                path="x", text=""))
    parts, with_ph = [], 0
    for g in p.groups:
        with_ph += any(x.particle_hole for x in g.generators)
        try:
            b = SymmetricBasis(p.sector, g, MPI.COMM_SELF)
        except SectorError as e:
            assert "empty" in str(e)
            continue
        M = symmetric_matrix_dense(p.compiled, b, MPI.COMM_SELF)
        assert np.allclose(M, M.conj().T, atol=1e-12)
        parts.append(np.linalg.eigvalsh(M))
    ev = np.sort(np.concatenate(parts))
    assert len(ev) == len(ref) and np.allclose(ev, ref, atol=1e-10)
    assert with_ph > 0 or "momentum" in keys


def dense_particle_hole(D, eta):
    """C |n> = (eta c_a1) ... (eta c_ak) |full>, |full> = c+_0 c+_1 ... |0> (modes in JW order),
    for |n> = c+_a1 ... c+_ak |0>: built from the creation and annihilation matrices."""
    from scipy import sparse
    c = {m: sparse.csr_matrix(D.c(*m)) for m in D.modes}
    full = np.zeros(D.dim)
    full[0] = 1.0
    for m in reversed(D.modes):
        full = c[m].T @ full
    v = D.local_states()
    C = np.zeros((D.dim, D.dim))
    for col in range(D.dim):
        occ = [(site, spin) for site, spin in D.modes if v[col, site] & (1 if spin in (None, "up") else 2)]
        vec = full
        for m in reversed(occ):
            vec = eta[m[0]] * (c[m] @ vec)
        C[:, col] = vec
    return C


@pytest.mark.parametrize("lattice, model, charges, keys", [
    ({"type": "chain", "size": [6]}, {"type": "tV", "V": 0.7, "mu": 0.7}, {"N": 3}, {"particle_hole": 1}),
    ({"type": "chain", "size": [6]}, {"type": "tV", "V": 0.7, "mu": 0.7}, {"N": 3}, {"particle_hole": -1}),
    ({"type": "chain", "size": [4]}, {"type": "hubbard", "U": 2.0, "mu": 1.0}, {"N_up": 2, "N_dn": 2},
     {"particle_hole": -1, "momentum": 2, "spin_flip": 1}),
])
def test_particle_hole_against_an_independent_projector(lattice, model, charges, keys):
    from scipy import sparse

    from fockmpi.jobfile.table import parse_job
    from fockmpi.app.pipeline import build_problem
    p = build_problem(parse_job({"lattice": lattice, "model": model, "sector": dict(charges, **keys)},
                                path="x", text=""))
    D = DenseSystem([s.kind for s in p.space.sites])
    u1 = U1Basis(p.sector)
    index = (p.space.decode(u1.states) * np.cumprod([1] + list(D.dims[:-1]))).sum(axis=1)
    H = matrix_elements_dense(p.compiled, u1)
    cdag = {m: sparse.csr_matrix(D.cdag(*m)) for m in D.modes}
    C = dense_particle_hole(D, p.group.eta)
    P = 0
    for (perm, flip, ph), chi in zip(p.group.elements, p.group.characters):
        G = dense_group_element(D, perm, flip, cdag)
        P = P + np.conj(chi) * ((C @ G) if ph else G)
    P = (P / p.group.order)[np.ix_(index, index)]
    assert np.allclose(P @ P, P, atol=1e-10)  # the characters form a representation of these operators
    w, U = np.linalg.eigh((P + P.conj().T) / 2)
    R = U[:, w > 0.5]
    ref = np.linalg.eigvalsh(R.conj().T @ H @ R)
    basis = SymmetricBasis(p.sector, p.group, COMM)
    ours = np.linalg.eigvalsh(symmetric_matrix_dense(p.compiled, basis, COMM))
    assert len(ours) == len(ref) > 0 and np.allclose(ours, ref, atol=1e-10)


@pytest.mark.parametrize("model, kind, size, charges", [
    ({"type": "heisenberg"}, "chain", [13], {"Sz": 0.5}),
    ({"type": "hubbard", "U": 2.0}, "chain", [7], {"N_up": 3, "N_dn": 4}),
    ({"type": "hubbard", "U": 2.0}, "chain", [6], {"N_up": 3, "N_dn": 3}),
    ({"type": "bose_hubbard", "U": 2.0, "nmax": 3}, "chain", [6], {"N": 7}),
    ({"type": "heisenberg"}, "ladder", [5], {"Sz": 0}),
])
def test_chain_representative_against_the_full_orbit_scan(model, kind, size, charges):
    """On chains the representative search only tries the translations that put a longest run
    of empty cells on top; it must find the same smallest image, and as many elements reaching
    it, as the scan of the whole orbit (all states of the sector, so also those without an
    empty cell)."""
    from fockmpi import kernels
    lat, space, sector, _ = problem(model, kind, size, charges)
    gens = next(momentum_sectors(lat))[1] + [Generator("F", None, True, 1)] * (model["type"] == "heisenberg")
    if kind == "chain":
        gens.append(Generator("P", chain_reflection(lat), False, 1))
    g = SymmetryGroup(space.nsites, gens, lattice_cells(lat)).kernel_args(space)
    assert g.cellmask != 0
    states = U1Basis(sector).states
    kernels.relayout(states, g.layout, 0, states)
    args = (g.tables, g.xor, g.nx, g.tshift, g.tmask, g.full, g.rowmin, g.top)
    for s in states:
        none = np.uint64(0)
        fast = kernels._representative(s, *args, g.cellmask, none)
        slow = kernels._representative(s, *args, none, none)
        assert fast[0] == slow[0] and fast[2] == slow[2], (int(s), fast, slow)
        # a floor at the representative changes nothing; one above it stops the search (count 0)
        for cellmask in (g.cellmask, none):
            assert kernels._representative(s, *args, cellmask, fast[0])[2] == fast[2]
            assert kernels._representative(s, *args, cellmask, fast[0] + np.uint64(1))[2] == 0
        h, j = divmod(int(fast[1]), int(g.nx))
        assert kernels._shift_x(kernels._image(s, h, g.tables, g.xor), j, g.tshift, g.tmask) == fast[0]


@pytest.mark.parametrize("lattice, model, sector", [
    ({"type": "chain", "size": [6]}, {"type": "hubbard", "U": 3.0}, {"N_up": 3, "N_dn": 2, "momentum": 0}),
    ({"type": "square", "size": [2, 2]}, {"type": "hubbard", "U": 2.0},
     {"N_up": 2, "N_dn": 1, "momentum": [1, 1], "point_group": "B1"}),
    ({"type": "chain", "size": [8]}, {"type": "heisenberg"}, {"Sz": 0, "momentum": 4, "reflection": -1}),
])
def test_eigenvector_in_the_results_file_solves_the_dense_problem(tmp_path, lattice, model, sector):
    """The file's promise: row i of a sector eigenvector belongs to the normalized P|basis_states[i]>
    (packed states, whatever order the sort layout gave the basis), with P the projector built here
    from the group's permutations and dense creation operators."""
    from scipy import sparse

    from fockmpi.runtime import import_h5py
    from fockmpi.jobfile.table import parse_job
    from fockmpi.app.pipeline import build_problem, run_job
    sections = {"lattice": lattice, "model": model, "sector": sector, "solver": {"nev": 1, "tol": 1e-12}}
    job = parse_job(sections, path=str(tmp_path / "job.toml"), text="")
    out = str(tmp_path / "vec.h5")
    res = run_job(job, COMM, output_path=out, quiet=True)
    with import_h5py().File(out, "r") as f:
        states, vec = f["basis_states"][()], f["eigenvectors"][:, 0]
    p = build_problem(job)
    D = DenseSystem([s.kind for s in p.space.sites])
    u1 = U1Basis(p.sector)
    weights = np.cumprod([1] + list(D.dims[:-1]))
    index = (p.space.decode(u1.states) * weights).sum(axis=1)
    H = matrix_elements_dense(p.compiled, u1)
    cdag = {m: sparse.csr_matrix(D.cdag(*m)) for m in D.modes}
    P = sum(np.conj(chi) * dense_group_element(D, perm, flip, cdag)
            for (perm, flip, _), chi in zip(p.group.elements, p.group.characters))
    P = P[np.ix_(index, index)] / p.group.order
    where = {int(k): i for i, k in enumerate(index)}
    columns = P[:, [where[int(k)] for k in (p.space.decode(states) * weights).sum(axis=1)]]
    columns /= np.linalg.norm(columns, axis=0)
    psi = columns @ vec
    assert np.isclose(np.linalg.norm(psi), 1.0)
    assert np.allclose(H @ psi, res["eigenvalues"][0] * psi, atol=1e-8)
