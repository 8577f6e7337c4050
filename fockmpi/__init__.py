"""fockmpi: distributed exact diagonalization of second-quantized Hamiltonians.

The data flow, one package per stage::

    jobfile -> models -> symmetry, basis -> operator (kernels) -> solvers -> io
                                 app: pipeline (a job end to end), solve (one sector), plan, cli

The public API is these names (everything else is reachable through the packages)::

    fockmpi.make_lattice("chain", [8])            a Lattice (also custom_lattice)
    fockmpi.models.hubbard(lattice, t=1, U=4)     a Model; heisenberg, tfim, tV, bose_hubbard, custom
    fockmpi.ops                                   operators by hand: ops.cdag(i, 0) * ops.c(j, 0), ...
    fockmpi.Sector(space, {"N_up": 4})            fixed charges
    fockmpi.symmetry_sectors(lattice, momentum=0) lattice-symmetry labels -> generators
    fockmpi.solve(model, {"Sz": 0}, nev=2)        eigenpairs of one sector (a Solution)
    fockmpi.Runtime.start()                       comm, PETSc, SLEPc and the scalar type
    fockmpi.operator_between(op, left, right, comm, PETSc)   a matrix from one sector to another
    fockmpi.load_job(path), fockmpi.run_job(job, comm)       job files, as `fockmpi run` does

Importing fockmpi does not initialize MPI or PETSc, and loads the stages only when first used.
"""
import importlib

__version__ = "0.1.0"

_PUBLIC = {
    "models": ("fockmpi.models", None),
    "ops": ("fockmpi.models.ops", None),
    "make_lattice": ("fockmpi.models.lattice", "make_lattice"),
    "custom_lattice": ("fockmpi.models.lattice", "custom_lattice"),
    "Sector": ("fockmpi.basis.sector", "Sector"),
    "symmetry_sectors": ("fockmpi.symmetry.sectors", "symmetry_sectors"),
    "solve": ("fockmpi.app.solve", "solve"),
    "Runtime": ("fockmpi.runtime", "Runtime"),
    "operator_between": ("fockmpi.operator.between", "operator_between"),
    "load_job": ("fockmpi.jobfile.table", "load_job"),
    "run_job": ("fockmpi.app.pipeline", "run_job"),
}
__all__ = sorted(_PUBLIC) + ["__version__"]


def __getattr__(name):
    try:
        module, attr = _PUBLIC[name]
    except KeyError:
        raise AttributeError(f"module 'fockmpi' has no attribute {name!r}") from None
    value = importlib.import_module(module)
    return value if attr is None else getattr(value, attr)


def __dir__():
    return __all__
