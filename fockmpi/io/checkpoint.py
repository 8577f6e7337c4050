"""Checkpoint files: the state of an interrupted eigensolve, in parallel HDF5, written atomically,
readable on any number of ranks.

Layout::

    /                attrs: complete, format, fockmpi_version, created, identity, fingerprint,
                     dimension, sector, iterations, matvecs (this rank's products so far), restarts,
                     job_toml (the job file), basis_seconds (with /basis_*); a job over several symmetry
                     sectors also ``finished_sectors`` (JSON: label, values, dimension,
                     eigenvalues, residuals, matvecs of every sector solved so far) and
                     ``vectors_sector`` (the sector /vectors belong to, "" when none)
    /values          (k,) float64   Ritz values of the saved vectors
    /residuals       (k,) float64   their residual norms ||H x - theta x||
    /vectors         (dim, k)       the Ritz vectors in the basis' global order (the order does not
                                    depend on the number of ranks: the basis fingerprint says so),
                                    each rank writes and reads its own rows
    /basis_states    (dim,) uint64  optional: an enumerated basis that took longer to find than to
    /basis_norms     (dim,) float64 write and read back (representatives in the group's sort layout)

``identity`` is a digest of what defines the problem (Hamiltonian terms, sector, symmetry sector,
solver settings that change the answer), ``fingerprint`` the basis's; a checkpoint whose
identity, fingerprint, dimension or format differs from the run's is refused with the reason.

Atomicity as for results files (:mod:`fockmpi.io.results`): written as ``NAME.<host>-<pid>.tmp``,
``complete`` set last, then renamed over the previous checkpoint, so ``NAME`` is always the
newest complete one (a kill while writing leaves the previous checkpoint in place).
"""
import datetime
import hashlib
import os

import numpy as np

from ..errors import InputError
from ..runtime import import_h5py
from .results import _write_rows, temporary_name

FORMAT = "fockmpi-checkpoint-1"


def problem_identity(*parts):
    """A hex digest of ``parts`` (their reprs): the identity a checkpoint must match."""
    h = hashlib.sha256()
    for part in parts:
        h.update(repr(part).encode())
        h.update(b"\x00")
    return h.hexdigest()[:32]


def write_checkpoint(path, comm, basis, identity, vectors, values, residuals, attrs=None, with_basis=False,
                     arrays=None):
    """Write the checkpoint ``path`` (``vectors``: this rank's slices) atomically, replacing the
    previous one only once the new one is complete.  ``with_basis``: the basis' states and norms
    too (an enumerated basis that took long to find, :func:`read_checkpoint_basis`).  ``arrays``:
    ``{name: array}``, the same on every rank (a time evolution's history so far), under
    ``/arrays`` (:func:`read_checkpoint_arrays`).  Collective."""
    from .. import __version__
    h5py = import_h5py()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = temporary_name(path, comm)
    k = len(values)
    dtype = np.asarray(vectors[0]).dtype if k else np.float64
    try:
        with h5py.File(tmp, "w", driver="mpio", comm=comm) as f:
            f.attrs["complete"] = False
            f.attrs["format"] = FORMAT
            f.attrs["fockmpi_version"] = __version__
            f.attrs["created"] = datetime.datetime.now().astimezone().isoformat(timespec="seconds")
            f.attrs["identity"] = identity
            f.attrs["fingerprint"] = basis.fingerprint()
            f.attrs["dimension"] = int(basis.dim)
            for key, value in (attrs or {}).items():
                f.attrs[key] = value
            f.create_dataset("values", data=np.asarray(values, dtype=np.float64))
            f.create_dataset("residuals", data=np.asarray(residuals, dtype=np.float64))
            if arrays:
                g = f.create_group("arrays")
                for name, data in sorted(arrays.items()):
                    g.create_dataset(name, data=np.asarray(data))
            dset = f.create_dataset("vectors", shape=(int(basis.dim), k), dtype=dtype)
            local = np.ascontiguousarray(np.stack(vectors, axis=1)) if k and basis.local_size else \
                np.zeros((0, k), dtype=dtype)
            if k:
                _write_rows(h5py, dset, int(basis.start), local)
            if with_basis:
                for name, data, dt in (("basis_states", basis.states, np.uint64), ("basis_norms", basis.norms,
                                                                                   np.float64)):
                    _write_rows(h5py, f.create_dataset(name, shape=(int(basis.dim),), dtype=dt), int(basis.start),
                                np.ascontiguousarray(data, dtype=dt))
            f.attrs["complete"] = True
    except BaseException:
        if comm.rank == 0 and os.path.exists(tmp):
            os.remove(tmp)
        raise
    comm.Barrier()
    if comm.rank == 0:
        os.replace(tmp, path)
    comm.Barrier()


def read_checkpoint(path, comm, basis, identity):
    """``(vectors, values, residuals, attrs)`` of the checkpoint ``path`` for this run: this rank's
    rows of every saved vector.  Raises :class:`InputError` (the reason, once) when the file is not
    a complete checkpoint of this problem and basis.  Collective."""
    h5py = import_h5py()
    problem = None
    if comm.rank == 0:
        problem = _mismatch(h5py, path, basis, identity)
    problem = comm.bcast(problem, root=0)
    if problem:
        raise InputError(f"checkpoint {path}: {problem}")
    with h5py.File(path, "r", driver="mpio", comm=comm) as f:
        values = f["values"][...]
        residuals = f["residuals"][...]
        dset = f["vectors"]
        lo, hi = int(basis.start), int(basis.start) + int(basis.local_size)
        # independent reads: a collective read would hang on a rank with no rows
        local = dset[lo:hi, :] if hi > lo else np.zeros((0, dset.shape[1]), dtype=dset.dtype)
        attrs = {k: (v.item() if hasattr(v, "item") else v) for k, v in f.attrs.items()}
    return [np.ascontiguousarray(local[:, j]) for j in range(local.shape[1])], values, residuals, attrs


def read_checkpoint_arrays(path, comm):
    """``{name: array}`` of the checkpoint's ``/arrays`` (every rank reads them; empty without).
    Call after :func:`read_checkpoint` accepted the file.  Collective."""
    h5py = import_h5py()
    with h5py.File(path, "r", driver="mpio", comm=comm) as f:
        return {k: v[()] for k, v in f["arrays"].items()} if "arrays" in f else {}


def read_checkpoint_basis(path, comm):
    """This rank's block (an even split over ``comm``) of the basis states and norms a
    checkpoint holds, or None when it holds none.  Call after :func:`read_checkpoint_attrs`
    accepted the file; :func:`read_checkpoint` checks the basis built from them against the
    fingerprint.  Collective."""
    from ..parallel import block_offsets
    h5py = import_h5py()
    with h5py.File(path, "r", driver="mpio", comm=comm) as f:
        if "basis_states" not in f:
            return None
        offsets = block_offsets(f["basis_states"].shape[0], comm.size)
        lo, hi = int(offsets[comm.rank]), int(offsets[comm.rank + 1])
        # independent reads (a collective read would hang on a rank with no rows)
        states = f["basis_states"][lo:hi] if hi > lo else np.zeros(0, dtype=np.uint64)
        norms = f["basis_norms"][lo:hi] if hi > lo else np.zeros(0)
    return states, norms


def read_checkpoint_attrs(path, comm, identity):
    """The attributes of the checkpoint ``path`` of this problem (before any basis is built:
    a job over several sectors learns which are finished).  Raises :class:`InputError` (the
    reason) as :func:`read_checkpoint` does, without the basis check.  Collective."""
    h5py = import_h5py()
    problem, attrs = None, None
    if comm.rank == 0:
        problem = _mismatch(h5py, path, None, identity)
        if problem is None:
            with h5py.File(path, "r") as f:
                attrs = {k: (v.item() if hasattr(v, "item") else v) for k, v in f.attrs.items()}
                attrs["vector_count"] = int(f["vectors"].shape[1])
    problem, attrs = comm.bcast((problem, attrs), root=0)
    if problem:
        raise InputError(f"checkpoint {path}: {problem}")
    return attrs


def _mismatch(h5py, path, basis, identity):
    """Why ``path`` is no checkpoint of this run (a sentence), or None; ``basis`` None skips the
    basis check.  Not collective."""
    if not os.path.exists(path):
        return "no such file"
    try:
        with h5py.File(path, "r") as f:
            a = f.attrs
            if a.get("format") != FORMAT:
                return f"format {a.get('format')!r}, this fockmpi reads {FORMAT!r}"
            if not a.get("complete", False):
                return "incomplete (the run that wrote it stopped while writing)"
            if a.get("identity") != identity:
                return ("written for another problem (the Hamiltonian, the sector or the solver settings "
                        "differ from this job's); remove it or give the job it belongs to")
            if basis is None:
                pass
            elif a.get("fingerprint") != basis.fingerprint() or int(a.get("dimension", -1)) != basis.dim:
                return (f"written for another basis (dimension {a.get('dimension')}, this run's is {basis.dim}); "
                        "remove it or give the job it belongs to")
            for name in ("values", "residuals", "vectors"):
                if name not in f:
                    return f"damaged (no /{name})"
    except OSError as e:
        return f"unreadable ({e})"
    return None
