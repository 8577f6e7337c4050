"""Expectation values of operators in the eigenvectors the solver found (the stage after the solver).

``expectation_values(op, model_space, basis, vectors, comm, PETSc)`` assembles ``op`` on the
basis of the vectors (it must keep the sector: a conserved quantity such as S^2) and returns
``<v_k|op|v_k>`` for every vector (real parts; the vectors are normalized).  Collective.
What a model reports of every root is its ``observables`` (an FCIDUMP model: S2 =
:func:`fockmpi.models.named.spin_squared`).
"""
import numpy as np



def expectation_values(op, space, sector_names, basis, vectors, comm, PETSc):
    """``<v|op|v>`` for each local eigenvector slice in ``vectors`` (basis order).  Collective.

    ``op`` is applied matrix-free (:class:`~fockmpi.operator.shell.ShellOperator`): one product
    a vector costs what assembling it would, and no matrix is held (<S^2> of 1.2e7 determinants
    stored would take 3.5 GiB per rank on 2 ranks)."""
    from .operator.compile import compile_operator
    from .operator.shell import ShellOperator
    compiled = compile_operator(op, space, sector_names)
    built = ShellOperator(compiled, basis, comm, PETSc)
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
