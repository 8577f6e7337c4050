"""Shared by tests/test_checkpoint.py and tests/mpi/test_checkpoint_ranks.py: one problem built
stage by stage, solved with a checkpoint that fires on a schedule."""
import numpy as np

import fockmpi
from fockmpi.app.solve import build_operator, compile_model
from fockmpi.basis.make import make_basis
from fockmpi.basis.sector import Sector
from fockmpi.io.checkpoint import problem_identity, read_checkpoint, write_checkpoint
from fockmpi.solvers.checkpointing import SolveCheckpoint
from fockmpi.solvers.eigen import SolverSettings, solve


class Scheduled(SolveCheckpoint):
    """Due at the iterations listed in ``when`` (counting calls of due()); requests a stop at
    ``stop_at`` (as a signal would)."""

    def __init__(self, comm, save, when=(), stop_at=None, start=None):
        super().__init__(comm, 0, save, start)
        self.calls, self.when, self.stop_at = 0, set(when), stop_at

    def due(self):
        self.calls += 1
        if self.stop_at is not None and self.calls >= self.stop_at:
            self.request_stop()
        return self.stop_requested or self.calls in self.when


def problem(comm, PETSc, method="krylovschur", nev=3):
    model = fockmpi.models.heisenberg(fockmpi.make_lattice("chain", [14]), J2=0.3)
    sector = Sector(model.space, {"Sz": 0})
    basis = make_basis(sector, None, comm)
    settings = SolverSettings(nev=nev, tol=1e-11, method=method, ncv=12)
    op = build_operator(compile_model(model, sector), settings, basis, comm, PETSc, quiet=True)
    identity = problem_identity(sorted(model.hamiltonian.terms.items()), sector.label(), nev, method)
    return basis, settings, op, identity


def run(comm, PETSc, SLEPc, path, method="krylovschur", when=(), stop_at=None, resume=False):
    """(eigenvalues or None if stopped, checkpoint, iterations of the main solve) of one run;
    writes checkpoints to ``path``."""
    basis, settings, op, identity = problem(comm, PETSc, method)
    start = read_checkpoint(path, comm, basis, identity)[0] if resume else None

    def save(vectors, values, residuals, iterations):
        write_checkpoint(path, comm, basis, identity, vectors, values, residuals, {"iterations": iterations})
    ckpt = Scheduled(comm, save, when, stop_at, start)
    try:
        pairs = solve(op, settings, comm, PETSc, SLEPc, show_progress=False, checkpoint=ckpt)
        return np.array(pairs.values), ckpt, pairs.iterations
    except fockmpi.solvers.checkpointing.Checkpointed:
        return None, ckpt, None
    finally:
        op.destroy()
