"""A hermitian operator as a PETSc shell matrix: what the matrix-free (:mod:`.shell`), the
upper-triangle (:mod:`.upper`) and the direct-CI (:mod:`.direct_ci`) operators share.

The operator object provides ``mult(x, y)`` (``y = H x``, collective) and, where a
preconditioner may ask for it, ``diagonal()`` (this rank's part of diag H); PETSc's transposed
and hermitian products follow from H being hermitian.
"""
import numpy as np

from ..errors import FockmpiError


class HermitianContext:
    """What PETSc calls for the shell matrix (petsc4py calls ``destroy(mat)`` on it too, so it
    is not the operator itself)."""

    def __init__(self, op):
        self.op = op

    def mult(self, mat, x, y):
        self.op.mult(x, y)

    def multHermitian(self, mat, x, y):  # noqa: N802 (PETSc's name) H^dag = H
        self.op.mult(x, y)

    def multTranspose(self, mat, x, y):  # noqa: N802 (PETSc's name) H^T = conj(H)
        if np.dtype(x.getArray(readonly=True).dtype).kind != "c":
            self.op.mult(x, y)
            return
        xc = x.duplicate()
        x.copy(xc)
        xc.conjugate()
        self.op.mult(xc, y)
        y.conjugate()
        xc.destroy()

    def getDiagonal(self, mat, d):  # noqa: N802 (PETSc's name) for preconditioners (Davidson, jd)
        diagonal = getattr(self.op, "diagonal", None)
        if diagonal is None:  # (lobpcg and jd run without a preconditioner by default)
            raise FockmpiError("the matrix-free operator has no diagonal for preconditioners: use "
                               "storage = \"aij\" with this solver's preconditioner")
        d.getArray()[:] = diagonal()


def hermitian_shell(op, local_rows, dim, comm, PETSc):
    """The PETSc shell matrix (``local_rows`` of ``dim`` rows on this rank) that applies ``op``,
    marked hermitian (and symmetric for real scalars).  Collective."""
    mat = PETSc.Mat().createPython([(local_rows, dim), (local_rows, dim)], context=HermitianContext(op), comm=comm)
    mat.setOption(PETSc.Mat.Option.HERMITIAN, True)
    if np.dtype(PETSc.ScalarType).kind != "c":
        mat.setOption(PETSc.Mat.Option.SYMMETRIC, True)
    mat.setUp()
    return mat
