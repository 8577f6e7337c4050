"""Results files: one self-describing parallel HDF5 file per run, written atomically.

Layout (``fockmpi show FILE`` prints it)::

    /                     attrs: complete, format, fockmpi_version, created
    /job                  attrs: toml (verbatim job file), path
    /sector               attrs: label, dimension, and one attr per fixed charge
    /eigenvalues          (nev,) float64
    /residuals            (nev,) float64   ||H x - E x|| for normalized x
    /eigenvectors         (nev, dim)       written collectively, each rank its slice (optional)
    /basis_states         (dim,) uint64    packed states, the columns of /eigenvectors (for a
                                           symmetry sector: the representatives, in the order of
                                           the basis: docs/conventions.md, "sort layout")
    /basis_norms          (dim,) float64   symmetry sectors only: stabilizer order of each
    /solver               attrs: method, which, tol, nconv, iterations, matvecs, requested, nnz,
                          scalar, matmult_seconds, multiplet_checks, check_seconds
    /timings/<phase>      attrs: min, max, mean (seconds over ranks)
    /memory               peak_rss_bytes (nranks,), matrix_bytes (nranks,), peak_rss_after_<phase>
                          (nranks,): the high-water mark when that phase ended
    /provenance           attrs: versions of fockmpi, PETSc, SLEPc, MPI, h5py; git commit;
                          ranks, host, start and end time

Atomicity: the file is written as ``NAME.tmp``, the attribute ``complete`` is set last, the
file is closed, and rank 0 renames it to ``NAME``.  A crash leaves at most a stale ``.tmp``
(removed by the next run), never a half file under the final name.  Readers check ``complete``.
"""
import os

import numpy as np

from ._runtime import import_h5py
from .errors import FockmpiError, OutputExistsError
from .parallel import raise_collectively

FORMAT = "fockmpi-results-1"


def prepare_path(path, force, comm):
    """Check that ``path`` may be written; remove a stale ``path.tmp``.  Collective.

    Raises :class:`OutputExistsError` (on every rank) if ``path`` exists and not ``force``.
    """
    error = None
    if comm.rank == 0:
        if os.path.exists(path) and not force:
            error = OutputExistsError(f"{path} exists already; pass --force to overwrite it or choose "
                                      "another path with -o")
        else:
            parent = os.path.dirname(os.path.abspath(path))
            try:
                os.makedirs(parent, exist_ok=True)
                if os.path.exists(path + ".tmp"):
                    os.remove(path + ".tmp")
            except OSError as e:
                error = FockmpiError(f"cannot prepare {path}: {e}")
    raise_collectively(comm, comm.bcast(error, root=0))


def _write_rows(h5py, dset, start, data):
    """Collective write of rows ``start..start+len(data)`` (a rank may have none).

    h5py skips the HDF5 call for an empty selection, which hangs the other ranks in a
    collective write, so empty ranks join with a 'none' selection through the low-level API.
    """
    with dset.collective:
        if len(data):
            dset[start:start + len(data)] = data
        else:
            fspace = dset.id.get_space()
            fspace.select_none()
            mspace = h5py.h5s.create_simple((1,) + dset.shape[1:])
            mspace.select_none()
            dxpl = h5py.h5p.create(h5py.h5p.DATASET_XFER)
            dxpl.set_dxpl_mpio(h5py.h5fd.MPIO_COLLECTIVE)
            dset.id.write(mspace, fspace, np.zeros((1,) + dset.shape[1:], dtype=dset.dtype), dxpl=dxpl)


def write_results(path, comm, record):
    """Write a results file atomically.  Collective.

    ``record`` is a dict with keys: job_text, job_path, sector_label, sector_values (dict),
    dimension, start (this rank's first row), states (local uint64), norms (local, symmetry
    sectors only), eigenvalues, residuals, vectors (list of local arrays or None), solver
    (dict), timings ({phase: (min,max,mean)} or a collective callable returning it), memory
    (dict of per-rank arrays), provenance (dict).  A job over several symmetry sectors gives
    ``sectors`` (list of dicts: label, values, dimension, eigenvalues, residuals) and
    ``eigenvalue_sector`` instead of states, norms and vectors.
    """
    h5py = import_h5py()
    tmp = path + ".tmp"
    with h5py.File(tmp, "w", driver="mpio", comm=comm) as f:
        f.attrs["complete"] = False
        f.attrs["format"] = FORMAT
        g = f.create_group("job")
        g.attrs["toml"] = record["job_text"]
        g.attrs["path"] = record["job_path"]
        g = f.create_group("sector")
        g.attrs["label"] = record["sector_label"]
        g.attrs["dimension"] = int(record["dimension"])
        for k, v in record["sector_values"].items():
            g.attrs[k] = v
        f.create_dataset("eigenvalues", data=np.asarray(record["eigenvalues"], dtype=np.float64))
        f.create_dataset("residuals", data=np.asarray(record["residuals"], dtype=np.float64))
        if "sectors" in record:
            _write_sectors(f, record)
        else:
            _write_basis_and_vectors(h5py, f, record)
        g = f.create_group("solver")
        for k, v in record["solver"].items():
            g.attrs[k] = v
        g = f.create_group("timings")
        timings = record["timings"]() if callable(record["timings"]) else record["timings"]
        for phase, (lo, hi, mean) in timings.items():
            p = g.create_group(phase)
            p.attrs["min"], p.attrs["max"], p.attrs["mean"] = lo, hi, mean
        g = f.create_group("memory")
        for k, v in record["memory"].items():
            g.create_dataset(k, data=np.asarray(v))
        g = f.create_group("provenance")
        for k, v in record["provenance"].items():
            g.attrs[k] = str(v).replace("\x00", "").strip()
        f.attrs["complete"] = True
    comm.Barrier()
    if comm.rank == 0:
        os.replace(tmp, path)
    comm.Barrier()


def _write_basis_and_vectors(h5py, f, record):
    """Basis states (and norms) and, if given, the eigenvectors: each rank writes its rows."""
    dim, start, nev = int(record["dimension"]), int(record["start"]), len(record["eigenvalues"])
    states = f.create_dataset("basis_states", shape=(dim,), dtype=np.uint64)
    _write_rows(h5py, states, start, record["states"])
    if record.get("norms") is not None:  # symmetric basis: row i is P|basis_states[i]>, normalized
        norms = f.create_dataset("basis_norms", shape=(dim,), dtype=np.float64)
        _write_rows(h5py, norms, start, np.asarray(record["norms"], dtype=np.float64))
        norms.attrs["meaning"] = ("order of the stabilizer of the representative: the basis vector is "
                                  "sum_g conj(chi(g)) g|r> / sqrt(|G| * norm)")
    vectors = record.get("vectors")
    if vectors is not None and nev:
        dtype = np.asarray(vectors[0]).dtype
        vec = f.create_dataset("eigenvectors", shape=(dim, nev), dtype=dtype)
        local = np.ascontiguousarray(np.stack(vectors, axis=1)) if len(vectors[0]) else \
            np.zeros((0, nev), dtype=dtype)
        _write_rows(h5py, vec, start, local)
        vec.attrs["layout"] = "column k is eigenvector k; row i is basis_states[i]"


def _write_sectors(f, record):
    """Layout of a job over several symmetry sectors (``"all"``): the tower of states."""
    f.create_dataset("eigenvalue_sector", data=np.asarray(record["eigenvalue_sector"], dtype=np.int64))
    top = f.create_group("sectors")
    top.attrs["meaning"] = "eigenvalue_sector[i] is the sector (group name) of eigenvalues[i]"
    for k, sec in enumerate(record["sectors"]):
        g = top.create_group(f"{k:04d}")
        g.attrs["label"] = sec["label"]
        g.attrs["dimension"] = sec["dimension"]
        for name, value in sec["values"].items():
            g.attrs[name] = value
        g.create_dataset("eigenvalues", data=np.asarray(sec["eigenvalues"], dtype=np.float64))
        g.create_dataset("residuals", data=np.asarray(sec["residuals"], dtype=np.float64))


def plot_tower(path, sectors):
    """``NAME_tower.png`` next to the results: energies against the momentum (or the sector
    index when there is no momentum), one marker per level.  None without matplotlib."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    names = [n for n in ("T", "Tx", "Ty") if all(n in s["values"] for s in sectors)]
    fig, ax = plt.subplots(figsize=(7, 4.5))
    if names:
        keys = sorted({tuple(s["values"][n] for n in names) for s in sectors})
        xs = {k: i for i, k in enumerate(keys)}
        rest_of = lambda s: ",".join(f"{k}={v}" for k, v in s["values"].items() if k not in names)
        colors = {r: f"C{i % 10}" for i, r in enumerate(dict.fromkeys(rest_of(s) for s in sectors))}
        for s in sectors:
            x = xs[tuple(s["values"][n] for n in names)]
            rest = rest_of(s)
            ax.plot([x] * len(s["eigenvalues"]), s["eigenvalues"], "_", markersize=14, mew=2,
                    color=colors[rest], label=rest or None)
        ax.set_xticks(range(len(keys)))
        ax.set_xticklabels(["(" + ",".join(map(str, k)) + ")" if len(k) > 1 else str(k[0]) for k in keys])
        ax.set_xlabel("momentum m (k = 2 pi m / L)" + (f" for {', '.join(names)}" if len(names) > 1 else ""))
        handles, labels = ax.get_legend_handles_labels()
        uniq = dict(zip(labels, handles))
        if uniq:
            ax.legend(uniq.values(), uniq.keys(), fontsize=7, loc="best")
    else:
        for x, s in enumerate(sectors):
            ax.plot([x] * len(s["eigenvalues"]), s["eigenvalues"], "_", markersize=14)
        ax.set_xticks(range(len(sectors)))
        ax.set_xticklabels([s["label"] for s in sectors], rotation=60, ha="right", fontsize=7)
    ax.set_ylabel("energy")
    ax.set_title("tower of states")
    fig.tight_layout()
    out = os.path.splitext(path)[0] + "_tower.png"
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def read_results(path):
    """Read a results file (serially) into a dict; refuse incomplete files.  Not collective."""
    h5py = import_h5py()
    if not os.path.exists(path):
        raise FockmpiError(f"{path}: no such file")
    with h5py.File(path, "r") as f:
        if not f.attrs.get("complete", False):
            raise FockmpiError(f"{path} is incomplete (the run that wrote it did not finish)")
        out = {
            "job_toml": f["job"].attrs["toml"],
            "sector": dict(f["sector"].attrs),
            "eigenvalues": f["eigenvalues"][()],
            "residuals": f["residuals"][()],
            "solver": dict(f["solver"].attrs),
            "timings": {k: dict(v.attrs) for k, v in f["timings"].items()},
            "memory": {k: v[()] for k, v in f["memory"].items()},
            "provenance": dict(f["provenance"].attrs),
            "has_vectors": "eigenvectors" in f,
        }
        if "sectors" in f:
            out["eigenvalue_sector"] = f["eigenvalue_sector"][()]
            out["sectors"] = [dict(dict(g.attrs), eigenvalues=g["eigenvalues"][()], residuals=g["residuals"][()])
                              for _, g in sorted(f["sectors"].items())]
    return out
