"""fockmpi: distributed exact diagonalization of second-quantized Hamiltonians.

Data flow, one module per stage::

    job file (config) -> model (lattice, models, ops) -> basis -> assemble -> solve -> output

Importing fockmpi does not initialize MPI or PETSc.
"""
__version__ = "0.1.0"
