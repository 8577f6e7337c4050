"""Dynamical correlation functions of the ground state (the stage after the solver, beside the
observables): the dynamical structure factor S(q, omega), the single-particle spectral
function A(k, omega).

Conventions (docs/conventions.md, "Dynamical correlations").  For a one-site operator O_i
(``op = "Sz_i"``, ``"cdag_i,up"``) and a momentum q of the lattice (its translation sectors'
labels),

    O_q = N^(-1/2) sum_i exp(i q.r_i) O_i,

which moves the momentum k of a state to k + q (``cdag_i,up`` gives c^dag_{q,up}).  With the
ground state |0> (energy E_0) of the job's sector,

    positive:  S_+(q, omega) = sum_n |<n|O_q|0>|^2     L_eta(omega - (E_n - E_0))
    negative:  S_-(q, omega) = sum_n |<n|O_q^+|0>|^2   L_eta(omega + (E_n - E_0))
    both:      S_+ + S_-       (O = c^dag: A(k, omega), removal at omega < 0)

where L_eta is a Lorentzian of half width eta (``broadening``) and unit area, so the integral
over all omega is the sum rule <0|O_q^+ O_q|0> (positive) and <0|O_q O_q^+|0> (negative).
Each branch and q is one Lanczos run (:mod:`fockmpi.solvers.continued_fraction`) in the sector
O_q takes the ground state to, built distributed: the U(1) charges change as O does (S^+: Sz
+1; c^dag_up: N_up + 1), the momentum by q; of the other symmetries only those under which O_q
picks up a phase are kept (reflection at q = 0 and pi; spin flip for S^z, with the flipped
parity), and the ground state is written in the basis of that smaller group first
(:func:`fockmpi.operator.between.embedding`).  Collective where marked.
"""
import time
from dataclasses import dataclass

import numpy as np

BRANCHES = ("positive", "negative", "both")


@dataclass
class SpectrumRequest:
    """One ``[[spectrum]]`` entry, checked.

    name : str;  text : the one-site operator with the template site ``i``;
    labels : list of momentum labels (tuples of ints, as the translation sectors are labelled);
    operators : the O_q of every label (Operator);  omega : (npoints,) frequency grid (the
    units of the Hamiltonian's couplings);  broadening : eta > 0;  steps : the most Lanczos
    steps per q;  tol : relative change of S on the grid at which Lanczos stops;
    branch : "positive" | "negative" | "both";  definition : the entry as written (JSON)."""

    name: str
    text: str
    labels: list
    operators: list
    omega: np.ndarray
    broadening: float
    steps: int
    tol: float
    branch: str
    definition: str

    @property
    def is_real(self):
        return all(abs(complex(c).imag) < 1e-14 for op in self.operators for c in op.terms.values())


def fourier_operator(text, lattice, space, label):
    """``O_q = N^(-1/2) sum_i exp(i q.r_i) O_i`` of the one-site operator string ``text`` (site
    letter ``i``) on the momentum with ``label`` (:func:`fockmpi.observables.lattice_momenta`).
    Not collective."""
    from .models.ops import Operator, parse_operator
    from .observables import lattice_momenta
    labels, q = lattice_momenta(lattice)
    k = [tuple(int(x) for x in lab[:len(label)]) for lab in labels].index(tuple(label))
    coords = np.asarray(lattice.coords, dtype=float)
    n = lattice.nsites
    total = Operator()
    for i in range(n):
        phase = np.exp(1j * float(q[k] @ coords[i][:len(q[k])])) / np.sqrt(n)
        if abs(phase.imag) < 1e-15:
            phase = phase.real
        elif abs(phase.real) < 1e-15:
            phase = 1j * phase.imag
        total = total + phase * parse_operator(text, space.site_kind, {"i": i})
    return total


def target_sector(op, sector):
    """The U(1) sector ``op`` takes ``sector`` to (every fixed charge changed as ``op`` changes
    it), or None where that sector is impossible (c^dag on a full band).  Not collective."""
    from .basis.sector import Sector
    from .errors import SectorError
    from .models.space import CHARGE_SCALE
    from .operator.between import charge_change
    change = charge_change(op, sector.space, sector.names)
    values = {name: (sector.internal[name] + change[name]) / CHARGE_SCALE.get(name, 1) for name in sector.names}
    try:
        return Sector(sector.space, values)
    except SectorError:
        return None


class _Sources:
    """The ground state written in the basis of each subgroup a q asks for (built once each).
    Collective."""

    def __init__(self, sector, group, basis, vector, comm, PETSc, make_basis):
        self.sector, self.group, self.comm, self.PETSc, self.make_basis = sector, group, comm, PETSc, make_basis
        self.full = (basis, vector)
        self.cache = {}

    def get(self, subgroup):
        """``(basis, PETSc Vec)`` of the ground state in ``subgroup``'s sector."""
        if subgroup is None and self.group is None or subgroup is not None and self.group is not None \
                and len(subgroup.elements) == len(self.group.elements):
            key = "full"
        else:
            key = subgroup.label() if subgroup is not None else ""
        if key not in self.cache:
            basis, vector = self.full
            x = self._vec(basis, vector)
            if key != "full":
                from .operator.between import embedding
                small = self.make_basis(self.sector, subgroup if subgroup is not None else _trivial(self.group))
                built = embedding(small, basis, self.comm, self.PETSc)
                y = built.mat.createVecLeft()
                built.mat.mult(x, y)
                built.destroy()
                x.destroy()
                basis, x = small, y
            self.cache[key] = (basis, x)
        return self.cache[key]

    def _vec(self, basis, vector):
        x = self.PETSc.Vec().createMPI((basis.local_size, basis.dim), comm=self.comm)
        x.getArray()[:] = vector
        return x

    def destroy(self):
        for _, x in self.cache.values():
            x.destroy()
        self.cache = {}


def _trivial(group):
    """The group of the identity alone (a symmetric basis of single states), for an operator
    that keeps none of ``group``'s generators but must meet its vectors in a symmetric basis."""
    from .symmetry.group import SymmetryGroup
    return SymmetryGroup(group.nsites, [], group.cells)


def dynamical_correlation(request, lattice, sector, group, basis, vector, energy0, comm, PETSc,
                          make_basis, build_hamiltonian, quiet=False, stop=None):
    """S(q, omega) of ``request`` (a :class:`SpectrumRequest`) in the ground state ``vector`` (this
    rank's slice, in ``basis`` of ``sector`` and ``group``) of energy ``energy0``.  Collective.

    ``make_basis(sector, group)`` builds a distributed basis, ``build_hamiltonian(basis)`` H on it
    (an object with ``.mat`` and ``.destroy()``), as the run builds its own.  Returns a dict:
    ``S`` (nq, nomega), ``omega``, ``q_labels``, ``q``, and per branch (``positive``,
    ``negative``) ``a`` and ``b`` (nq, steps; NaN past each q's own steps), ``weight`` (the sum
    rule, nq), ``steps``, ``dimension`` and ``sector`` (the target sectors' labels), and
    ``seconds`` per q."""
    from .errors import SectorError
    from .observables import lattice_momenta
    from .operator.between import covariant_groups, operator_between
    from .parallel import print0
    from .solvers.continued_fraction import lanczos_coefficients, lorentzian_spectrum
    sources = _Sources(sector, group, basis, vector, comm, PETSc, make_basis)
    branches = ["positive", "negative"] if request.branch == "both" else [request.branch]
    nq = len(request.labels)
    out = {"omega": request.omega, "S": np.zeros((nq, len(request.omega)))}
    all_labels, all_q = lattice_momenta(lattice)
    index = {tuple(int(x) for x in lab): k for k, lab in enumerate(all_labels)}
    width = all_labels.shape[1]
    out["q_labels"] = np.array([tuple(lab) + (0,) * (width - len(lab)) for lab in request.labels])
    out["q"] = np.array([all_q[index[tuple(lab)]] for lab in out["q_labels"]])
    try:
        for branch in branches:
            runs = []
            for k, (label, op_q) in enumerate(zip(request.labels, request.operators)):
                t0 = time.perf_counter()
                op = op_q if branch == "positive" else op_q.hc()
                left_sector = target_sector(op, sector)
                src_group, tgt_group = covariant_groups(op, group, sector.space, sector, left_sector) \
                    if left_sector is not None else (None, None)
                if group is not None and src_group is None:
                    src_group = tgt_group = _trivial(group)
                run = {"a": np.zeros(0), "b": np.zeros(0), "weight": 0.0, "steps": 0, "dimension": 0,
                       "sector": "empty", "converged": True, "basis_seconds": 0.0, "operator_seconds": 0.0,
                       "lanczos_seconds": 0.0}
                target = None
                if left_sector is not None:
                    try:
                        target = make_basis(left_sector, tgt_group)
                        run["basis_seconds"] = time.perf_counter() - t0
                    except SectorError as e:
                        if "empty" not in str(e):
                            raise
                if target is not None and target.dim:
                    h = build_hamiltonian(target)  # (first: it settles the target's cuts, phi lives on them)
                    phi = None
                    try:
                        right, x = sources.get(src_group)
                        between = operator_between(op, target, right, comm, PETSc)
                        phi = between.mat.createVecLeft()
                        between.mat.mult(x, phi)
                        between.destroy()
                        t1 = time.perf_counter()
                        run["operator_seconds"] = t1 - t0 - run["basis_seconds"]
                        a, b, weight, converged = lanczos_coefficients(
                            h.mat, phi, min(request.steps, target.dim), comm, energy0,
                            -request.omega if branch == "negative" else request.omega,
                            request.broadening, request.tol, stop=stop)
                    finally:
                        h.destroy()
                        if phi is not None:
                            phi.destroy()
                    run["lanczos_seconds"] = time.perf_counter() - t1
                    run.update(a=a, b=b, weight=weight, steps=len(a), dimension=target.dim, converged=converged,
                               sector=left_sector.label() + (f",{tgt_group.label()}" if tgt_group and
                                                              tgt_group.generators else ""))
                    out["S"][k] += lorentzian_spectrum(a, b, weight, energy0, request.omega, request.broadening,
                                                       negative=branch == "negative")
                run["seconds"] = time.perf_counter() - t0
                runs.append(run)
                if not quiet:
                    print0(comm, f"  spectrum {request.name} q={tuple(int(x) for x in label)} {branch}: "
                                 f"{run['sector']} dim {run['dimension']}, {run['steps']} Lanczos steps"
                                 f"{'' if run['converged'] else ' (not converged: raise steps)'}, weight "
                                 f"{run['weight']:.6g}, {run['seconds']:.2f} s (basis {run['basis_seconds']:.2f}, "
                                 f"operators {run['operator_seconds']:.2f}, Lanczos {run['lanczos_seconds']:.2f})")
            longest = max((r["steps"] for r in runs), default=0)
            table = {key: np.full((nq, longest), np.nan) for key in ("a", "b")}
            for k, r in enumerate(runs):
                table["a"][k, :r["steps"]] = r["a"]
                table["b"][k, :r["steps"]] = r["b"]
            out[branch] = dict(table, weight=np.array([r["weight"] for r in runs]),
                               steps=np.array([r["steps"] for r in runs]),
                               converged=np.array([r["converged"] for r in runs]),
                               dimension=np.array([r["dimension"] for r in runs]),
                               sector=[r["sector"] for r in runs],
                               **{key: np.array([r[key] for r in runs]) for key in
                                  ("seconds", "basis_seconds", "operator_seconds", "lanczos_seconds")})
    finally:
        sources.destroy()
    out["energy0"] = float(energy0)
    out["broadening"] = request.broadening
    out["definition"] = request.definition
    return out


def spectrum_from_record(record, broadening=None, omega=None):
    """S(q, omega) again from stored coefficients (``/spectra/<name>`` read back), on another
    grid or with another broadening.  Not collective."""
    from .solvers.continued_fraction import lorentzian_spectrum
    omega = record["omega"] if omega is None else np.asarray(omega, dtype=float)
    eta = record["broadening"] if broadening is None else float(broadening)
    S = np.zeros((len(record["q_labels"]), len(omega)))
    for branch in ("positive", "negative"):
        part = record.get(branch)
        if part is None:
            continue
        for k in range(len(S)):
            n = int(part["steps"][k])
            if n:
                S[k] += lorentzian_spectrum(part["a"][k, :n], part["b"][k, :n], part["weight"][k],
                                            record["energy0"], omega, eta, negative=branch == "negative")
    return S


def describe(request):
    """One line about a request, for ``fockmpi info``."""
    return (f"{request.name}: O = {request.text}, {len(request.labels)} momenta, {request.branch}, "
            f"omega {request.omega[0]:g} .. {request.omega[-1]:g} ({len(request.omega)} points), broadening "
            f"{request.broadening:g}, at most {request.steps} steps")
