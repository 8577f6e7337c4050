"""Expectation values of operators in the eigenvectors the solver found (the stage after the solver).

``expectation_values(op, model_space, basis, vectors, comm, PETSc)`` assembles ``op`` on the
basis of the vectors (it must keep the sector: a conserved quantity such as S^2) and returns
``<v_k|op|v_k>`` for every vector (real parts; the vectors are normalized).  Collective.
"""
import numpy as np

from .models import ops


def spin_squared(space):
    """Total S^2 = S^- S^+ + S^z (S^z + 1) of the spin-1/2 and electron sites of ``space``
    (electrons: S^+_i = c+_i,up c_i,dn, S^z_i = (n_i,up - n_i,dn)/2)."""
    plus, z = ops.Operator(), ops.Operator()
    for i, site in enumerate(space.sites):
        if site.kind == "electron":
            plus += ops.cdag(i, "up") * ops.c(i, "dn")
            z += 0.5 * (ops.n(i, "up") - ops.n(i, "dn"))
        elif site.kind == "spin":
            plus += ops.Sp(i)
            z += ops.Sz(i)
    return plus.hc() * plus + z * z + z


def expectation_values(op, space, sector_names, basis, vectors, comm, PETSc):
    """``<v|op|v>`` for each local eigenvector slice in ``vectors`` (basis order).  Collective."""
    from .operator.assemble import assemble_hamiltonian
    from .operator.compile import compile_operator
    compiled = compile_operator(op, space, sector_names)
    built = assemble_hamiltonian(compiled, basis, comm, PETSc, show_progress=False)
    try:
        x, y = built.mat.createVecs()
        out = []
        for v in vectors:
            x.getArray()[:] = v
            built.mat.mult(x, y)
            out.append(float(np.real(comm.allreduce(np.vdot(v, y.getArray(readonly=True))))))
        return np.array(out)
    finally:
        built.destroy()
