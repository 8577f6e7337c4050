"""Expectation values of operators in the eigenvectors the solver found (the stage after the solver).

``expectation_values(op, model_space, basis, vectors, comm, PETSc)`` assembles ``op`` on the
basis of the vectors (it must keep the sector: a conserved quantity such as S^2) and returns
``<v_k|op|v_k>`` for every vector (real parts; the vectors are normalized).  Collective.
What a model reports of every root is its ``observables`` (an FCIDUMP model: S2 =
:func:`fockmpi.models.named.spin_squared`).
"""
import numpy as np



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
