"""When and how an eigensolver checkpoints itself (the solver side; the file is
:mod:`fockmpi.io.checkpoint`).

A :class:`SolveCheckpoint` is handed to :func:`fockmpi.solvers.eigen.solve`.  The solver asks
:meth:`~SolveCheckpoint.due` once per outer iteration (collective: every rank gets the same
answer, so all stop together), and when it is due hands its current best approximations, Ritz
vectors and values, to :meth:`~SolveCheckpoint.save`.  After a save the solve goes on, unless a
stop was requested (a signal): then :class:`Checkpointed` ends the run.  A resumed solve starts
from the saved vectors (``start``): Krylov-Schur from their sum (its Krylov space holds every
saved direction), Davidson from the vectors themselves.  Either way the result is the solver's
converged answer from a good start, and the multiplet check after the solve runs as always, so
a resumed run reaches the eigenvalues of an uninterrupted one.
"""
import time

import numpy as np

from ..errors import Checkpointed


class SolveCheckpoint:
    """Checkpointing of one solve.  Collective on ``comm``.

    interval : seconds between checkpoints (0: only when a stop is requested)
    save : collective callable ``save(vectors, values, residuals, iterations)``; ``vectors`` are
        this rank's slices
    start : this rank's slices of the vectors to start from (a resumed run), or None
    """

    def __init__(self, comm, interval, save, start=None, where="the checkpoint file"):
        self.comm, self.interval, self._save = comm, float(interval), save
        self.start, self.where = start, where
        self.stop_requested = False  # set by a signal handler (any rank)
        self.stop_signal = 0
        self.saves = 0
        self._last = time.monotonic()
        self.seconds = 0.0  # spent writing checkpoints
        self._announced = False
        self.verbose = False  # a line per checkpoint written (rank 0)
        self.what = "solve"  # what is checkpointed, for the messages ("time evolution")

    def request_stop(self, signum=0):
        """Ask for a checkpoint at the next iteration and a stop after it (signal-safe).  Rank 0
        says so at once: a launcher that kills soon after its signal (mpirun: one second) may not
        wait for the next iteration, and the run must not end without a word."""
        self.stop_requested = True
        self.stop_signal = int(signum)
        if self.comm.rank == 0:
            self._announce(signum)

    def _announce(self, signum):
        if self._announced:
            return
        self._announced = True
        import os
        import signal
        why = f"interrupted by {signal.Signals(signum).name}" if signum else "asked to stop"
        text = (f"fockmpi: {why}; the {self.what} writes a checkpoint to {self.where} at its next step "
                "and stops (no results file was written)")
        if signum == signal.SIGTERM and "OMPI_MCA_orte_hnp_uri" in os.environ:
            # Open MPI's mpirun answers Ctrl-C with SIGTERM and SIGKILL one second later
            # (odls_base_sigkill_timeout), often before the iteration ends; SIGUSR1 it forwards
            text += ("; mpirun kills the ranks 1 s after its SIGTERM, which may be too soon: "
                     f"`kill -USR1 {_launcher_pid()}` stops a run of mpirun with a checkpoint")
        from ..parallel import say
        say(text)

    def due(self):
        """True on every rank when a checkpoint is due on any (collective).  When a stop was
        requested on another rank, rank 0 says so here."""
        timed = self.interval > 0 and time.monotonic() - self._last >= self.interval
        flags = np.array([int(self.stop_requested), self.stop_signal, int(timed)], dtype=np.int64)
        self.comm.Allreduce(flags.copy(), flags, op=_max())  # (element by element)
        stop, signum, timed = (int(x) for x in flags)
        if stop:
            self.stop_requested, self.stop_signal = True, int(signum)
            if self.comm.rank == 0:
                self._announce(signum)
        return bool(stop or timed)

    def save(self, vectors, values, residuals, iterations):
        """Write the checkpoint (collective); raise :class:`Checkpointed` if a stop was requested."""
        t0 = time.monotonic()
        self._save(vectors, np.asarray(values, dtype=np.float64), np.asarray(residuals, dtype=np.float64),
                   int(iterations))
        self.saves += 1
        self._last = time.monotonic()
        self.seconds += self._last - t0
        if self.verbose and self.comm.rank == 0:
            print(f"  {self.what}: checkpoint written in {self._last - t0:.2f} s", flush=True)
        if self.comm.allreduce(int(self.stop_requested), op=_max()):
            raise Checkpointed(f"the {self.what} is checkpointed in {self.where} (after {int(iterations)} "
                               f"{'iterations' if self.what == 'solve' else 'steps'}), "
                               "no results file was written; run the job again with --resume to go on from there")


def rayleigh_ritz(mat, V, want, comm, key=None):
    """The ``want`` wanted-most Ritz pairs (``key`` orders them; default: the lowest) of ``mat`` on
    the span of the rows of ``V`` (this rank's slices of the vectors as one 2-D array, not
    necessarily orthonormal; overwritten): ``(values, vectors, residual norms)``.  Costs one
    product per row of ``V``; memory: ``V`` and as many products (the orthonormal rows are
    made in place, block by block).  Collective."""
    gram = comm.allreduce(V.conj() @ V.T)
    w, U = np.linalg.eigh(0.5 * (gram + gram.conj().T))
    keep = w > 1e-12 * max(w.max(), 1e-300)
    C = (U[:, keep] / np.sqrt(w[keep])).T  # orthonormal rows Q = C V
    m, block = len(C), 1 << 16
    for a in range(0, V.shape[1], block):
        V[:m, a:a + block] = C @ V[:, a:a + block]
    Q = V[:m]
    x, y = mat.createVecs()
    AQ = np.empty_like(Q)
    for i in range(m):
        x.getArray()[:] = Q[i]
        mat.mult(x, y)
        AQ[i] = y.getArray(readonly=True)
    x.destroy()
    y.destroy()
    H = comm.allreduce(Q.conj() @ AQ.T)
    theta, s = np.linalg.eigh(0.5 * (H + H.conj().T))
    order = np.argsort([key(t) for t in theta] if key else theta, kind="stable")
    theta, s = theta[order], s[:, order]
    k = min(want, len(theta))
    X, AX = s[:, :k].T @ Q, s[:, :k].T @ AQ
    R = AX - theta[:k, None] * X
    residuals = np.sqrt(comm.allreduce(np.sum(np.abs(R) ** 2, axis=1)))
    return theta[:k], list(X), residuals


def _launcher_pid():
    """mpirun's process id where it is this process' parent (one node), else a placeholder."""
    import os
    try:
        with open(f"/proc/{os.getppid()}/comm") as f:
            if f.read().strip() in ("mpirun", "mpiexec", "orterun"):
                return str(os.getppid())
    except OSError:
        pass
    return "<mpirun's pid>"


def _max():
    from mpi4py import MPI
    return MPI.MAX
