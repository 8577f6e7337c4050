"""Lattices and built-in models against independent dense Hamiltonians (serial, no PETSc)."""
import numpy as np
import pytest
from dense_reference import DenseSystem

from dense_matrices import matrix_elements_dense
from fockmpi.basis.sector import Sector
from fockmpi.basis.u1 import U1Basis
from fockmpi.jobfile.table import Table
from fockmpi.errors import ConfigError
from fockmpi.operator.compile import compile_operator
from fockmpi.models.lattice import custom_lattice, make_lattice
from fockmpi.jobfile.model import model_from_table


def spectrum(model, lattice, charges=None):
    space, H = model_from_table(Table(dict(model), "[model]"), lattice)
    sector = Sector(space, charges or {})
    compiled = compile_operator(H, space, sector.names)
    return np.linalg.eigvalsh(matrix_elements_dense(compiled, U1Basis(sector)))


@pytest.mark.parametrize("kind, size, nsites, nbonds, coordination", [
    ("chain", [6], 6, 6, 2),
    ("ladder", [4], 8, 12, 3),
    ("square", [4, 4], 16, 32, 4),
    ("triangular", [3, 3], 9, 27, 6),
    ("honeycomb", [3, 2], 12, 18, 3),
    ("kagome", [2, 2], 12, 24, 4),
])
def test_periodic_lattices_have_the_right_coordination(kind, size, nsites, nbonds, coordination):
    lat = make_lattice(kind, size)
    assert lat.nsites == nsites and len(lat.bonds["nn"]) == nbonds
    degree = np.zeros(nsites, int)
    for i, j, _ in lat.bonds["nn"]:
        degree[i] += 1
        degree[j] += 1
    assert (degree == coordination).all()
    # nearest-neighbour bonds join sites at distance 1 up to periodic images
    if kind != "ladder":
        assert len({(min(i, j), max(i, j)) for i, j, _ in lat.bonds["nn"]}) == nbonds


def test_open_boundaries_drop_wrapping_bonds():
    assert len(make_lattice("chain", [6], "open").bonds["nn"]) == 5
    assert len(make_lattice("square", [3, 3], ["open", "periodic"]).bonds["nn"]) == 6 + 9
    assert len(make_lattice("ladder", [4], "open").bonds["nn"]) == 6 + 4


def dense_heisenberg(lattice, J=1.0, delta=1.0, h=0.0):
    D = DenseSystem(["spin"] * lattice.nsites)
    M = 0
    for i, j, Jij in lattice.bonds["nn"]:
        M = M + J * Jij * (D.spin(i, "x") @ D.spin(j, "x") + D.spin(i, "y") @ D.spin(j, "y")
                           + delta * D.spin(i, "z") @ D.spin(j, "z"))
    for i in range(lattice.nsites):
        M = M - h * D.spin(i, "z")
    return D, np.real(M)


@pytest.mark.parametrize("kind, size, boundary", [
    ("ladder", [3], "periodic"), ("triangular", [3, 3], "periodic"), ("kagome", [3, 1], ["periodic", "open"]),
    ("honeycomb", [2, 2], "periodic"), ("square", [3, 3], "periodic")])
def test_xxz_on_lattices_against_dense(kind, size, boundary):
    lat = make_lattice(kind, size, boundary)
    D, M = dense_heisenberg(lat, J=1.3, delta=0.7, h=0.2)
    sz = 0.5 if lat.nsites % 2 else 0.0
    ours = spectrum({"type": "xxz", "J": 1.3, "Delta": 0.7, "h": 0.2}, lat, {"Sz": sz})
    assert np.allclose(ours, D.sector_eigvals(M, Sz=sz), atol=1e-10)


def test_tfim_full_space_against_dense():
    lat = make_lattice("chain", [7], "open")
    D = DenseSystem(["spin"] * 7)
    M = sum(-1.0 * D.spin(i, "z") @ D.spin(j, "z") for i, j, _ in lat.bonds["nn"])
    M = M - 0.8 * sum(D.spin(i, "x") for i in range(7))
    assert np.allclose(spectrum({"type": "tfim", "J": 1.0, "h": 0.8}, lat), np.linalg.eigvalsh(np.real(M)))


def test_tfim_in_a_sector_is_refused():
    from fockmpi.errors import SectorError
    with pytest.raises(SectorError, match="changes Sz"):
        spectrum({"type": "tfim", "h": 0.5}, make_lattice("chain", [4]), {"Sz": 0})


def test_tV_against_dense():
    lat = make_lattice("chain", [7])
    D = DenseSystem(["fermion"] * 7)
    M = 0
    for i, j, _ in lat.bonds["nn"]:
        h = -1.0 * D.cdag(i) @ D.c(j)
        M = M + h + h.T + 2.0 * D.n(i) @ D.n(j)
    M = M - 0.3 * sum(D.n(i) for i in range(7))
    for N in (2, 3, 4):
        ours = spectrum({"type": "tV", "t": 1.0, "V": 2.0, "mu": 0.3}, lat, {"N": N})
        assert np.allclose(ours, D.sector_eigvals(M, N=N), atol=1e-10)


def test_hubbard_square_cluster_against_dense():
    lat = make_lattice("square", [2, 2], ["open", "periodic"])
    D = DenseSystem(["electron"] * 4)
    M = 0
    for i, j, _ in lat.bonds["nn"]:
        for s in ("up", "dn"):
            h = -1.0 * D.cdag(i, s) @ D.c(j, s)
            M = M + h + h.T
    M = M + 3.0 * sum(D.n(i, "up") @ D.n(i, "dn") for i in range(4))
    ours = spectrum({"type": "hubbard", "U": 3.0}, lat, {"N_up": 2, "N_dn": 1})
    assert np.allclose(ours, D.sector_eigvals(M, N_up=2, N_dn=1), atol=1e-10)


def test_custom_lattice_couplings_enter_bond_templates():
    lat = custom_lattice(4, {"nn": [[0, 1, 1.0], [1, 2, 2.0], [2, 3, -0.5]], "x": [[0, 3]]})
    D = DenseSystem(["spin"] * 4)
    M = 0
    for i, j, J in [(0, 1, 1.0), (1, 2, 2.0), (2, 3, -0.5)]:
        M = M + J * sum(D.spin(i, a) @ D.spin(j, a) for a in "xyz")
    M = M + 0.3 * D.spin(0, "z") @ D.spin(3, "z")
    model = {"type": "custom", "site": "spin",
             "term": [{"op": "Sx_i Sx_j", "bonds": "nn"}, {"op": "Sy_i Sy_j", "bonds": "nn"},
                      {"op": "Sz_i Sz_j", "bonds": "nn"}, {"op": "Sz_i Sz_j", "coef": 0.3, "bonds": "x"}]}
    assert np.allclose(spectrum(model, lat), np.linalg.eigvalsh(np.real(M)), atol=1e-10)


@pytest.mark.parametrize("model, message", [
    ({"type": "heisenberg", "J": "x"}, "[model] J: expected a number"),
    ({"type": "heisenbrg"}, "did you mean 'heisenberg'"),
    ({"type": "bose_hubbard"}, "nmax"),
    ({"type": "heisenberg", "term": [{"op": "S+_i S-_j", "bonds": "nnnn"}]}, "no bond list 'nnnn'"),
    ({"type": "heisenberg", "term": [{"op": "S+_0", "hc": "yes"}]}, "hc: expected true or false"),
    ({"type": "heisenberg", "term": [{"op": "S+_0", "cof": 1}]}, "did you mean 'coef'"),
    ({"type": "custom", "site": "spin"}, "Hamiltonian is zero"),
])
def test_model_errors_name_the_key(model, message):
    import re

    from fockmpi.errors import InputError
    with pytest.raises(InputError, match=re.escape(message)):
        model_from_table(Table(model, "[model]"), make_lattice("chain", [4]))


def test_periodic_direction_of_length_one_is_refused():
    with pytest.raises(ConfigError, match="too short"):
        make_lattice("square", [4, 1])


def test_models_are_python_constructors_with_the_job_file_keywords():
    from fockmpi import models
    from fockmpi.models import ops
    from fockmpi.jobfile.table import Table
    from fockmpi.models.lattice import make_lattice
    lattice = make_lattice("chain", [6])
    for kind, kwargs in (("heisenberg", {"J": 0.7, "Delta": 0.3, "J2": 0.2, "h": 0.1}), ("tfim", {"h": 0.4}),
                         ("hubbard", {"t": 1.2, "U": 4.0, "mu": 0.5}), ("tV", {"V": 2.0}),
                         ("bose_hubbard", {"nmax": 3, "U": 2.0})):
        direct = getattr(models, kind)(lattice, **kwargs)
        space, H = model_from_table(Table(dict(kwargs, type=kind), "[model]"), lattice)
        assert direct.space.sites == space.sites and (direct.hamiltonian - H).is_zero(), kind
    m = models.heisenberg(lattice) + 0.5 * ops.Sz(0)
    assert len(m.hamiltonian.terms) == len(models.heisenberg(lattice).hamiltonian.terms) + 1
