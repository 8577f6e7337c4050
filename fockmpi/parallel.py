"""MPI habits in one place: block partitions, collective error checks, rank-0 output, timers.

Only mpi4py is used here (never PETSc), so every stage can rely on it.
"""
import os
import resource
import signal
import sys
import time
from contextlib import contextmanager

import numpy as np


def world():
    """``MPI.COMM_WORLD`` (imports mpi4py, which initializes MPI)."""
    from mpi4py import MPI
    return MPI.COMM_WORLD


def block_offsets(n, size):
    """Offsets of a balanced contiguous split of ``n`` items over ``size`` ranks.

    Rank ``p`` owns ``[offsets[p], offsets[p+1])``; the first ``n % size`` ranks own one more.
    """
    n, size = int(n), int(size)
    counts = np.full(size, n // size, dtype=np.int64)
    counts[: n % size] += 1
    return np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)


def raise_collectively(comm, error):
    """Make a local error (or ``None``) global: if any rank has one, every rank raises it.

    Collective.  The error of the lowest failing rank is raised everywhere, so all ranks print
    the same message and none hangs in a later collective.
    """
    errors = comm.allgather(error)
    for e in errors:
        if e is not None:
            raise e


@contextmanager
def collective_errors(comm, catch=Exception):
    """Run a block whose exceptions of type ``catch`` are made collective on exit.

    Collective: every rank must enter and leave the block.
    """
    error = None
    try:
        yield
    except catch as e:
        error = e
    raise_collectively(comm, error)


def ranks_on_this_node(comm):
    """How many ranks of ``comm`` share this node's memory (all of them where MPI cannot tell).
    Collective."""
    from mpi4py import MPI
    try:
        node = comm.Split_type(MPI.COMM_TYPE_SHARED)
    except Exception:  # noqa: BLE001 - no shared-memory split in this MPI
        return comm.size
    n = node.size
    node.Free()
    return n


def print0(comm, *args, **kwargs):
    """Print on rank 0 only (flushes)."""
    if comm.rank == 0:
        print(*args, **kwargs)
        sys.stdout.flush()


def peak_memory_bytes():
    """Peak resident memory of this process in bytes (Linux ru_maxrss is in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _proc_bytes(path, key):
    """The ``key:`` line of a /proc file (in kB there) in bytes, or None (not Linux, no such line)."""
    try:
        with open(path) as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def file_backed_bytes():
    """This process' resident pages mapped from files (Linux ``RssFile``: the libraries of
    Python, numba/LLVM, PETSc, MPI and the compiled kernels; shared by every rank of a node, so a
    node holds them once however many ranks count them in their peaks), or 0."""
    return _proc_bytes("/proc/self/status", "RssFile") or 0


def available_memory_bytes():
    """MemAvailable of this node (Linux), or None."""
    return _proc_bytes("/proc/meminfo", "MemAvailable")


_LIBC = []


def release_free_memory():
    """Hand memory that was freed but kept by glibc's heap back to the system (``malloc_trim``).

    Chunked builds free large transient arrays between chunks; glibc keeps such holes in its
    heap (resident, counted in the peak) unless asked.  No-op where glibc is not the allocator.
    """
    if not _LIBC:
        try:
            import ctypes
            _LIBC.append(ctypes.CDLL("libc.so.6").malloc_trim)
        except (OSError, AttributeError):
            _LIBC.append(None)
    if _LIBC[0] is not None:
        _LIBC[0](0)


class PhaseTimer:
    """Wall time per named phase on this rank, and the memory high-water mark when each phase
    ended (so a memory peak can be traced to its phase); :meth:`summary` reduces the times
    over ranks."""

    def __init__(self):
        self.seconds = {}
        self.peak_bytes = {}

    @contextmanager
    def phase(self, name):
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - t0
            self.peak_bytes[name] = peak_memory_bytes()

    def summary(self, comm):
        """``{phase: (min, max, mean)}`` over ranks.  Collective."""
        names = sorted(self.seconds)
        local = np.array([self.seconds[n] for n in names])
        all_ = np.array(comm.allgather(local)).reshape(comm.size, len(names))
        return {n: (float(all_[:, k].min()), float(all_[:, k].max()), float(all_[:, k].mean()))
                for k, n in enumerate(names)}

    def per_rank(self, comm):
        """``{phase: [seconds on each rank]}``.  Collective."""
        names = sorted(self.seconds)
        local = np.array([self.seconds[n] for n in names])
        all_ = np.array(comm.allgather(local)).reshape(comm.size, len(names))
        return {n: all_[:, k].tolist() for k, n in enumerate(names)}

    def memory_record(self, comm):
        """``{"peak_rss_after_<phase>": [bytes per rank]}``: each rank's memory high-water mark
        when the phase ended.  Collective."""
        return {f"peak_rss_after_{n}": comm.allgather(self.peak_bytes.get(n, 0)) for n in sorted(self.seconds)
                if n != "output"}


class Progress:
    """A progress line on rank 0 for work that takes more than a few seconds."""

    def __init__(self, comm, label, total, every=3.0, enabled=True):
        self.comm, self.label, self.total, self.every = comm, label, total, every
        self.enabled = enabled and comm.rank == 0
        self.t0 = self.last = time.perf_counter()

    def update(self, done):
        if not self.enabled:
            return
        now = time.perf_counter()
        if now - self.last >= self.every:
            self.last = now
            self.every = max(self.every, 10.0)  # first line after a few seconds, then every 10 s
            frac = done / max(self.total, 1)
            print(f"  {self.label}: {100 * frac:5.1f}%  ({now - self.t0:.1f} s)", flush=True)


def say(line):
    """Write ``line`` to stderr at once, also from a signal handler (which may run while the main
    thread is inside ``sys.stderr.write``: then the buffered stream refuses a reentrant call and
    the line goes to file descriptor 2 directly).  Not collective."""
    try:
        sys.stderr.write(line + "\n")
        sys.stderr.flush()
    except RuntimeError:
        os.write(2, (line + "\n").encode())


class RunGuard:
    """Ends a run on every rank when one rank fails or is interrupted, with one message.

    MPI has no way to leave a collective that another rank will never enter: a rank that
    returns early (an error only it saw, Ctrl-C, ``kill``, Slurm's SIGTERM) would leave the
    others waiting forever.  So a rank that ends abnormally first offers the others to end
    together (a non-blocking barrier on a private communicator, so it can never match a
    collective of the run itself).  Rank 0 prints the message at once; another rank prints it
    only if the others do not join within ``patience`` seconds (then it alone saw the reason).
    If every rank joins (all saw the same error, or ``mpirun`` sent the signal to all), they end
    normally; otherwise the communicator is aborted.

    SIGINT and SIGTERM are handled at the next Python instruction of the main thread: between
    kernel chunks, at every solver iteration (a monitor runs on every rank).  Collective (the
    constructor duplicates ``comm``).
    """

    SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGUSR1)
    STOP_FOR_CHECKPOINT = (signal.SIGTERM, signal.SIGUSR1)  # Slurm's warning and preemption
    QUIET = 77  # message tag: "I am ending the run and have said why"

    def __init__(self, comm):
        self.comm = comm
        self.private = comm.Dup() if comm.size > 1 else None
        self.published = None  # the results file, once it has its final name
        self.checkpoint = None  # the SolveCheckpoint of the solve in progress, if any

    def close(self):
        """Free the private communicator (collective; the run ended normally)."""
        if self.private is not None:
            self.private.Free()
            self.private = None

    def install(self):
        """Handle SIGINT and SIGTERM by ending the run on every rank (main thread only)."""
        for sig in self.SIGNALS:
            signal.signal(sig, self._on_signal)

    def _on_signal(self, signum, _frame):
        name = signal.Signals(signum).name
        if self.checkpoint is not None and signum in self.STOP_FOR_CHECKPOINT:
            # the solve writes a checkpoint at its next iteration, then every rank stops together
            self.checkpoint.request_stop(signum)
            return
        if self.published:
            what = f"the results file {self.published} was complete before"
        else:
            what = "no results file was written (a results file appears only when complete)"
        for sig in self.SIGNALS:  # a second Ctrl-C must not interrupt the ending itself
            signal.signal(sig, signal.SIG_IGN)
        # mpirun sends SIGTERM to every rank when it is interrupted and SIGKILL 1 s later: rank 0
        # speaks at once, the others only if the rest of the run does not stop with them
        from .errors import CHECKPOINTED_EXIT
        code = CHECKPOINTED_EXIT if signum in self.STOP_FOR_CHECKPOINT else 128 + signum  # (requeue: run again)
        self.end(code, f"fockmpi: interrupted by {name}; the run stopped, {what}", patience=0.5)

    def all_agree(self, patience):
        """True if every rank calls this within ``patience`` seconds (then all have the same
        reason to stop).  Collective in intent; never blocks longer than ``patience``."""
        if self.private is None:
            return True
        request = self.private.Ibarrier()
        deadline = time.monotonic() + patience
        while time.monotonic() < deadline:
            if request.Test():
                return True
            time.sleep(0.005)
        return False

    def end(self, code, message, patience):
        """Print ``message`` once and end the process (and, if the other ranks do not stop
        with it, the whole run) with exit status ``code``.  Does not return."""
        sys.stdout.flush()
        if self._told_to_stay_quiet():  # another rank is ending the run and has said why
            os._exit(code)
        if self.comm.rank == 0:
            say(message)
        together = self.all_agree(patience)
        if not together and not self._told_to_stay_quiet():
            if self.comm.rank != 0:
                say(f"{message} (rank {self.comm.rank} of {self.comm.size})")
            # the abort reaches the other ranks as SIGTERM: tell them first that all is said
            for p in range(self.comm.size):
                if p != self.comm.rank:
                    self.private.isend(None, dest=p, tag=self.QUIET)
            time.sleep(0.05)
            self.comm.Abort(code)
        os._exit(code)  # noqa: SLF001 - PETSc's and MPI's clean-up would wait for the other ranks

    def _told_to_stay_quiet(self):
        from mpi4py import MPI
        return self.private is not None and self.private.Iprobe(source=MPI.ANY_SOURCE, tag=self.QUIET)
