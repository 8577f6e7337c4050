"""Tests that need the complex PETSc build (momentum phases e^{iqr} of spectra, exp(-iHt) of time
evolution).  A process loads one PETSc build, and the other tests run on the real one, so these
run in processes of their own (Makefile `test`: `pytest tests/complex`, and `mpirun -n 2/3 pytest
tests/complex/mpi`); the complex build is loaded here before any test, so a real job among them
runs in complex arithmetic too."""
import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "mpi"))  # (tests/mpi/test_pipeline.py: run, all_ok)


@pytest.fixture(scope="session", autouse=True)
def complex_petsc():
    from fockmpi import runtime
    PETSc, _ = runtime.init("complex")
    return PETSc


