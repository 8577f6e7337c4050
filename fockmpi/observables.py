"""Expectation values of operators in the eigenvectors the solver found (the stage after the solver).

``measure(op, ...)``: an Operator gives ``<v_k|op|v_k>`` for every vector k; a dict
``{(i, j): Operator}`` (``[[observable]]`` with ``pairs = "all"``) gives the matrix
``C[k, i, j] = <v_k|op_ij|v_k>``, one product per pair, or in a symmetry sector one per orbit of
pairs under the group's pure site permutations (all pairs of an orbit have the same value there);
a dict ``{(i,): Operator}`` (``each_site = true``) the profile ``P[k, s] = <v_k|op_i|v_k>`` over
the entry's sites in their order.
``expectation_values(op, model_space, basis, vectors, comm, PETSc)`` assembles ``op`` on the
basis of the vectors (it must keep the sector: a conserved quantity such as S^2) and returns
``<v_k|op|v_k>`` for every vector (real parts; the vectors are normalized).  Collective.
What a model reports of every root is its ``observables`` (an FCIDUMP model: S2 =
:func:`fockmpi.models.named.spin_squared`).
"""
import numpy as np



class LocalDistribution:
    """The probability of every local state of one site, ``P[k, v] = <v_k|(|v><v|)_site|v_k>``
    (``[[observable]]`` with ``distribution = true``: the photon-number distribution of a mode,
    the field distribution of a link; local states as in docs/conventions.md).  Measured from the
    amplitudes on the basis states, so only without lattice symmetries."""

    def __init__(self, site, dim):
        self.site, self.dim = int(site), int(dim)

    def measure(self, space, basis, vectors, comm):
        """``(vectors, dim)`` probabilities.  Collective."""
        local = space.decode(basis.packed_states())[:, self.site] if basis.local_size else np.zeros(0, dtype=np.int64)
        out = np.array([np.bincount(local, weights=np.abs(np.asarray(v)) ** 2, minlength=self.dim)[:self.dim]
                        for v in vectors]).reshape(len(vectors), self.dim)
        return comm.allreduce(out)


def check_keeps_sector(op, space, sector_names, name="the observable"):
    """Raise :class:`~fockmpi.errors.SectorError` if ``op`` changes a charge of the sector (its
    expectation value in an eigenstate would be 0).  Not collective."""
    from .errors import SectorError
    from .models.space import CHARGE_SCALE
    from .operator.between import charge_change
    for charge, delta in charge_change(op, space, sector_names).items():
        if delta:
            raise SectorError(f"{name} changes {charge} by {delta / CHARGE_SCALE.get(charge, 1):+g}, so its "
                              "expectation value in an eigenstate of the sector is 0; an expectation value "
                              "needs an operator that keeps the sector (e.g. S+_i S-_j instead of S+_i)")


def measure_all(observables, definitions, lattice, space, sector_names, basis, vectors, comm, PETSc, group=None):
    """:func:`measure` of every ``{name: Operator or {(i, j): Operator}}``, and for each whose
    ``[[observable]]`` definition (``definitions[name]``, JSON) asks for ``structure_factor``
    also ``<name>_Sq`` and ``<name>_q_labels`` (:func:`structure_factor`).  Collective."""
    import json
    out = {name: op.measure(space, basis, vectors, comm) if isinstance(op, LocalDistribution) else
           measure(op, space, sector_names, basis, vectors, comm, PETSc, group=group, name=name)
           for name, op in sorted(observables.items())}
    for name, definition in sorted((definitions or {}).items()):
        if json.loads(definition).get("structure_factor") and name in out:
            labels, _, S = structure_factor(out[name], lattice)
            out[f"{name}_Sq"], out[f"{name}_q_labels"] = S, labels
    return out


def symmetrized(op, group):
    """``(1/|G|) sum_g g op g^-1`` over the elements of ``group`` (a
    :class:`~fockmpi.symmetry.group.SymmetryGroup`), which commutes with every element.

    In a sector of the group (g|v> = chi(g)|v>, |chi| = 1) ``<v|op|v> = <v|g op g^-1|v>`` for every
    g, so ``<v|op|v>`` equals ``<v|symmetrized(op)|v>``: a correlation of one pair of sites is
    measured as the average over all pairs the group maps it to.  Not collective."""
    from .models.ops import Operator
    from .symmetry.invariance import transformed
    total = Operator()
    for perm, flip, ph in group.elements:
        total = total + transformed(op, perm, spin_flip=flip, eta=group.eta if ph else None)
    return (1.0 / len(group.elements)) * total


def expectation_values(op, space, sector_names, basis, vectors, comm, PETSc, group=None, name="the observable"):
    """``<v|op|v>`` for each local eigenvector slice in ``vectors`` (basis order).  Collective.

    ``op`` must keep the U(1) sector (a :class:`~fockmpi.errors.SectorError` names the charge
    otherwise); in a symmetry sector of ``group`` it is :func:`symmetrized` first (the basis
    vectors are symmetric combinations, and only an invariant operator acts on them as on
    states).  ``op`` is applied matrix-free (:class:`~fockmpi.operator.shell.ShellOperator`):
    one product a vector costs what assembling it would, and no matrix is held (<S^2> of 1.2e7
    determinants stored would take 3.5 GiB per rank on 2 ranks)."""
    from .operator.compile import compile_operator
    from .operator.shell import ShellOperator
    check_keeps_sector(op, space, sector_names, name)
    if group is not None:
        op = symmetrized(op, group)
    parts = hermitian_parts(op, np.dtype(PETSc.ScalarType).kind == "c")
    total = np.zeros(len(vectors), dtype=complex)
    for weight, part in parts:
        built = ShellOperator(compile_operator(part, space, sector_names), basis, comm, PETSc)
        try:
            x, y = built.mat.createVecs()
            for k, v in enumerate(vectors):
                x.getArray()[:] = v
                built.mat.mult(x, y)
                total[k] += weight * np.real(comm.allreduce(np.vdot(v, y.getArray(readonly=True))))
            x.destroy()
            y.destroy()
        finally:
            built.destroy()
    return total.real.copy() if np.all(np.abs(total.imag) <= 1e-13 * max(1.0, np.abs(total).max())) else total


def hermitian_parts(op, complex_vectors):
    """``[(weight, H_a)]`` with hermitian H_a and ``<v|op|v> = sum_a weight_a <v|H_a|v>``.

    With complex vectors: op = A + i B, A = (op + op^+)/2 and B = (op - op^+)/(2i).  With real
    vectors (a real PETSc build) every real antisymmetric part has a zero expectation value, so
    op = R + i I (R, I its terms' real and imaginary coefficients) gives
    <op> = <(R + R^+)/2> + i <(I + I^+)/2>.  A hermitian op is its own single part.  Not
    collective."""
    from .models.ops import Operator, is_hermitian
    if is_hermitian(op):
        return [(1.0, op)]
    if complex_vectors:
        return [(1.0, 0.5 * op.plus_hc()), (1j, 0.5 * (-1j * op).plus_hc())]
    real = Operator({k: c.real for k, c in op.terms.items() if c.real})
    imag = Operator({k: c.imag for k, c in op.terms.items() if c.imag})
    return [(w, 0.5 * part.plus_hc()) for w, part in ((1.0, real), (1j, imag)) if len(part)]


def measure(op, space, sector_names, basis, vectors, comm, PETSc, group=None, name="the observable"):
    """:func:`expectation_values` of an Operator; of every pair of a ``{(i, j): Operator}``
    correlation as an array ``(vectors, nsites, nsites)``; of every site of a ``{(i,): Operator}``
    profile (``each_site``) as ``(vectors, sites)`` in the order of its keys.  Collective."""
    if not isinstance(op, dict):
        return expectation_values(op, space, sector_names, basis, vectors, comm, PETSc, group, name)
    keys = list(op)
    if len(keys[0]) == 2:
        n = 1 + max(max(p) for p in keys)
        out = np.zeros((len(vectors), n, n))
        where = {key: (slice(None), key[0], key[1]) for key in keys}
    else:
        out = np.zeros((len(vectors), len(keys)))
        where = {key: (slice(None), k) for k, key in enumerate(keys)}
    # keys related by a pure site permutation g of the group (no spin flip, no particle-hole: those
    # also change the operator) have the same symmetrized operator, so the same value, where g maps
    # the operator of one to that of the other (a template of its letters only: "Sz_i Sz_j", not
    # "Sz_0 Sz_i"; checked, one transformation per key)
    from .symmetry.invariance import transformed
    perms = [p for p, flip, ph in group.elements if not flip and not ph] if group is not None else []
    done = {}
    for key in keys:
        value = None
        if perms:
            perm = min(perms, key=lambda p: tuple(p[i] for i in key))
            image = tuple(perm[i] for i in key)
            if image in done and image in op and _same(transformed(op[key], perm), op[image]):
                value = done[image]
        if value is None:
            value = expectation_values(op[key], space, sector_names, basis, vectors, comm, PETSc, group,
                                       f"{name} {tuple(key)}")
        done.setdefault(key, value)
        out[where[key]] = value
    return out


def _same(a, b):
    """Whether the Operators ``a`` and ``b`` are equal (to rounding)."""
    diff = a + (-1.0) * b
    return all(abs(c) <= 1e-12 for c in diff.terms.values())


def lattice_momenta(lattice):
    """``(labels, q)``: the momenta of a periodic built-in lattice, ``labels[k] = (m1, m2)`` and
    ``q[k] = 2 pi (m1 / L1) b1 + 2 pi (m2 / L2) b2`` (b the reciprocal vectors of the Bravais
    vectors a: a_i . b_j = delta_ij; a chain's a1 = (1, 0)), the momenta its translation
    sectors are labelled by.  Not collective."""
    size = list(lattice.size) + [1] * (2 - len(lattice.size))
    A = np.array(lattice.vectors if lattice.vectors is not None else ((1.0, 0.0), (0.0, 1.0)), dtype=float).T
    B = np.linalg.inv(A).T  # columns b1, b2
    labels = [(m1, m2) for m2 in range(size[1]) for m1 in range(size[0])]
    q = np.array([2 * np.pi * (B[:, 0] * m1 / size[0] + B[:, 1] * m2 / size[1]) for m1, m2 in labels])
    return np.array(labels), q


def minimum_image_distances(lattice, origin=0):
    """The distance of every site from site ``origin``: the shortest over the periodic images
    (shifts by L_d a_d in every periodic direction d) of a built-in lattice; plain distances on
    open or custom lattices.  Not collective."""
    coords = np.asarray(lattice.coords, dtype=float)
    delta = coords - coords[origin]
    if not lattice.size:
        return np.linalg.norm(delta, axis=1)
    A = np.array(lattice.vectors if lattice.vectors is not None else ((1.0, 0.0), (0.0, 1.0)), dtype=float)
    shifts = [np.zeros(2)]
    for d, (L, boundary) in enumerate(zip(lattice.size, lattice.boundary)):
        if boundary == "periodic":
            shifts = [s + n * L * A[d] for s in shifts for n in (-1, 0, 1)]
    return np.min([np.linalg.norm(delta + s, axis=1) for s in shifts], axis=0)


def structure_factor(C, lattice):
    """``S[k, q] = (1/N) sum_ij exp(i q.(r_i - r_j)) C[k, i, j]`` on :func:`lattice_momenta` (r the
    site positions, N the number of sites): real where C is hermitian in (i, j).  Returns
    ``(labels, q, S)``.  Not collective."""
    labels, q = lattice_momenta(lattice)
    phase = np.exp(1j * q @ np.asarray(lattice.coords, dtype=float).T)  # [q, i]
    S = np.einsum("qi,kij,qj->kq", phase, C, phase.conj()) / C.shape[1]
    if np.all(np.abs(S.imag) <= 1e-12 * max(1.0, np.abs(S).max())):
        S = S.real.copy()
    return labels, q, S
