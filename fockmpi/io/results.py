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
    /solver               attrs: method, which, tol, nconv, iterations, matvecs, requested, nnz, storage,
                          scalar, matmult_seconds, multiplet_checks, check_seconds,
                          multiplets_verified (the levels at the cut came back whole, checked)
    /observables/<name>   (nev,) <v_k|O|v_k>, or (nev, nsites, nsites) with pairs = "all"; attrs
                          definition ([[observable]] as written, JSON); with structure_factor
                          also <name>_Sq (nev, nq): S(q) = (1/N) sum_ij exp(iq.(r_i - r_j)) C_ij,
                          and <name>_q_labels (nq, 2): the momenta (m1, m2), q = 2 pi m_a / L_a b_a
    /spectra/<name>       [[spectrum]] of the ground state: omega (nw,), S (nq, nw), q_labels (nq, 2),
                          q (nq, 2); attrs definition (JSON), broadening, energy0; per branch
                          (positive, negative) a group with the Lanczos coefficients a, b (nq, steps;
                          NaN past each q's steps; b[:, 0] = 0), weight (nq,: the sum rule
                          <0|O_q^+ O_q|0>), steps, converged, dimension, seconds, sector (labels of
                          the target sectors); docs/conventions.md "Dynamical correlations"
    /evolution            [evolution]: times (nt,), energy (nt,: <psi(t)|H|psi(t)> with the H of t > 0),
                          norm (nt,), observables/<name> (nt, ...: every [[observable]] at every time);
                          attrs definition (JSON), method, products (the measurements' included),
                          krylov_steps, seconds, matmult_seconds, checkpoints
    /parallel             per rank: states, nnz (stored or generated non-zeros), ghost_values and
                          ghost_messages (what one product brings in from other ranks; the upper
                          triangle counts its partial sums going back too), matmult_count and
                          matmult_seconds (PETSc's MatMult log of the run); attrs bytes_per_product
                          (all ranks), imbalance_states and imbalance_nnz (max / mean), balance
                          (how the basis was cut: "nnz" or "states") and imbalance_nnz_even_states
                          (with "nnz": the estimate for an even split of states; else -1)
    /timings/<phase>      attrs: min, max, mean (seconds over ranks)
    /timings_per_rank/<phase>  (nranks,) seconds of each rank
    /memory               peak_rss_bytes (nranks,), file_backed_bytes (nranks,: the libraries' pages,
                          shared by a node's ranks), matrix_bytes (nranks,), peak_rss_after_<phase>
                          (nranks,): the high-water mark when that phase ended
    /provenance           attrs: versions of fockmpi, PETSc, SLEPc, MPI, h5py; git commit;
                          ranks, host, start and end time, Slurm job id
    /sweep                one point of a [sweep] only: attrs index, points (how many in all),
                          parameters (JSON: swept name -> value, in the order of [sweep])

Atomicity: the file is written as ``NAME.<host>-<pid>.tmp`` (one name per run), the attribute
``complete`` is set last, the file is closed, and rank 0 gives it the final name ``NAME`` by a
hard link that fails if ``NAME`` exists (so a file that appeared meanwhile is never replaced
without ``--force``).  A crash leaves at most a stale ``.tmp`` (removed by the next run on that
host once its process is gone), never a half file under the final name.  Readers check
``complete``.
"""
import glob
import json
import os
import socket
import sys

import numpy as np

from ..errors import ConfigError, FockmpiError, InputError, OutputExistsError
from ..parallel import raise_collectively
from ..runtime import import_h5py


FORMAT = "fockmpi-results-1"


def temporary_name(path, comm):
    """``NAME.<host>-<pid>.tmp``: the name this run writes under (rank 0's host and process id,
    so two runs with the same output never write into one file, and a stale one can be told
    from a live one).  Collective."""
    tag = f"{socket.gethostname()}-{os.getpid()}" if comm.rank == 0 else None
    return f"{path}.{comm.bcast(tag, root=0)}.tmp"


def existing_ancestor(path):
    """The nearest directory (or file) above ``path`` that exists: where its directories would
    be created, and whose disk it would be written to."""
    probe = os.path.dirname(os.path.abspath(path))
    while not os.path.exists(probe):
        probe = os.path.dirname(probe)
    return probe


def try_writing(path):
    """Create ``path``'s directories and a file beside it, then remove the file: raises
    :class:`OSError` where this process cannot write (found before the work, not after)."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    probe = f"{path}.probe-{socket.gethostname()}-{os.getpid()}.tmp"
    os.close(os.open(probe, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
    os.remove(probe)


def check_path(path, force, job_path):
    """The :class:`InputError` that makes ``path`` unusable as a results file, or None."""
    if not path or not path.strip():
        return ConfigError("[output] path", "a file name such as \"results/run.h5\"", path)
    if path.endswith(os.sep) or os.path.isdir(path):
        return InputError(f"output path {path}: is a directory; give a file name such as "
                          f"{os.path.join(path, 'run.h5')}")
    if job_path is not None and os.path.exists(path) and os.path.exists(job_path) and os.path.samefile(path, job_path):
        return InputError(f"output path {path}: is the job file itself; choose another path with -o")
    probe = existing_ancestor(path)
    if not os.path.isdir(probe):
        return InputError(f"output path {path}: cannot create a directory there, {probe} is a file")
    if os.path.exists(path) and not force:
        return OutputExistsError(f"{path} exists already; pass --force to overwrite it or choose another "
                                 "path with -o")
    return None


def prepare_path(path, force, comm, job_path=None):
    """Check, before any work, that the results can be written to ``path``; remove stale
    temporary files of earlier runs that were killed.  Collective.

    Raises (on every rank) :class:`OutputExistsError` if ``path`` exists and not ``force``, and
    :class:`InputError` for an empty path, a directory, the job file itself, a parent that is a
    file, or a directory this process cannot write in (tried by creating the temporary file).
    """
    error = None
    if comm.rank == 0:
        error = check_path(path, force, job_path)
        if error is None:
            try:
                try_writing(path)
            except OSError as e:
                error = InputError(f"output path {path}: cannot write there ({e.strerror or e}); choose "
                                   "another path with -o")
            else:
                remove_stale_temporaries(path)
    raise_collectively(comm, comm.bcast(error, root=0))


def check_disk_space(needs, comm):
    """Refuse, before the solve, to start a run whose files cannot fit on their disks.
    ``needs`` maps a file path to the bytes it will take at most; paths on one file system
    add up.  Collective (rank 0 looks, every rank raises the same :class:`CapacityError`)."""
    from ..errors import CapacityError
    error = None
    if comm.rank == 0:
        by_device = {}
        for path, nbytes in needs.items():
            parent = existing_ancestor(path)
            try:
                st = os.statvfs(parent)
                device = os.stat(parent).st_dev
            except OSError:
                continue
            entry = by_device.setdefault(device, [st.f_bavail * st.f_frsize, 0, []])
            entry[1] += nbytes
            entry[2].append(f"{path} ~{_gib(nbytes)}")
        for free, need, what in by_device.values():
            if need > free:
                error = CapacityError(f"not enough disk space: {', '.join(what)} need {_gib(need)} in all, the disk "
                                      f"holding them has {_gib(free)} free; free some space or write elsewhere "
                                      "(-o, [checkpoint] path, [output] eigenvectors = false)")
                break
    raise_collectively(comm, comm.bcast(error, root=0))


def _gib(nbytes):
    return f"{nbytes / 2**30:.3g} GiB" if nbytes >= 2**26 else f"{nbytes / 2**20:.3g} MiB"


def remove_stale_temporaries(path):
    """Remove ``path``'s temporary files left by killed runs on this host (their process is
    gone) and the ``NAME.tmp`` of fockmpi versions before 0.x; live runs' files stay."""
    host = socket.gethostname()
    stale = [path + ".tmp"] if os.path.exists(path + ".tmp") else []
    for name in glob.glob(glob.escape(path) + ".*.tmp"):
        tag = name[len(path) + 1:-len(".tmp")]
        who, _, pid = tag.rpartition("-")
        if who == host and pid.isdigit() and not _alive(int(pid)):
            stale.append(name)
    for name in stale:
        try:
            os.remove(name)
        except OSError:
            pass


def _alive(pid):
    """Whether process ``pid`` runs on this host (a zombie, killed and not yet reaped, does not:
    a container's init may never reap the ranks of a killed mpirun)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rpartition(")")[2].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def publish(tmp, path, force):
    """Give the complete file ``tmp`` its final name; return that name.  Not collective (rank 0).

    With ``force`` an existing file is replaced.  Without it the final name is claimed
    atomically (a hard link, which fails if the name exists), so a file that appeared while
    this run was working (another run with the same output) is never replaced: the results
    then go to ``NAME.1.h5`` (or the next free number) and a warning says so.
    """
    if force:
        os.replace(tmp, path)
        return path
    stem, ext = os.path.splitext(path)
    for k in range(1000):
        name = path if k == 0 else f"{stem}.{k}{ext}"
        try:
            try:
                os.link(tmp, name)
                os.remove(tmp)
            except FileExistsError:
                raise
            except OSError:  # no hard links on this file system: reserve the name, then replace
                os.close(os.open(name, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
                os.replace(tmp, name)
        except FileExistsError:
            continue
        if k:
            print(f"  warning: {path} appeared while this run was working (another run with the same "
                  f"output?); it was left alone, these results are in {name}", file=sys.stderr, flush=True)
        return name
    raise FockmpiError(f"cannot find a free name for the results next to {path}; they are in {tmp}")


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


def write_results(path, comm, record, force=False):
    """Write a results file atomically; return its name (``path``, unless another file took
    that name meanwhile: :func:`publish`).  Collective.

    ``record`` is a dict with keys: job_text, job_path, sector_label, sector_values (dict),
    dimension, start (this rank's first row), states (local uint64), norms (local, symmetry
    sectors only), eigenvalues, residuals, vectors (list of local arrays or None), solver
    (dict), timings ({phase: (min,max,mean)} or a collective callable returning it), memory
    (dict of per-rank arrays), provenance (dict).  A job over several symmetry sectors gives
    ``sectors`` (list of dicts: label, values, dimension, eigenvalues, residuals) and
    ``eigenvalue_sector`` instead of states, norms and vectors.
    """
    h5py = import_h5py()
    tmp = temporary_name(path, comm)
    try:
        _write_file(h5py, tmp, comm, record)
    except BaseException:
        if comm.rank == 0 and os.path.exists(tmp):
            os.remove(tmp)  # a failed write leaves no stray temporary file
        raise
    comm.Barrier()
    final = publish(tmp, path, force) if comm.rank == 0 else None
    return comm.bcast(final, root=0)


def _write_file(h5py, tmp, comm, record):
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
        if record.get("observables"):
            g = f.create_group("observables")
            definitions = record.get("observable_definitions") or {}
            for k, v in record["observables"].items():
                v = np.asarray(v)
                d = g.create_dataset(k, data=v if v.dtype.kind in "ic" else v.astype(np.float64))
                if k in definitions:  # [[observable]] as written (JSON), e.g. {"bonds": "nearest", "op": "..."}
                    d.attrs["definition"] = definitions[k]
            g.attrs["meaning"] = ("<v_k|O|v_k> of eigenvector k (S2: total spin squared, S(S+1)); in a symmetry "
                                  "sector O averaged over the group (the same value for an eigenstate)")
        if record.get("parallel"):
            g = f.create_group("parallel")
            for key, value in record["parallel"].items():
                if isinstance(value, list):
                    g.create_dataset(key, data=np.asarray(value))
                else:
                    g.attrs[key] = value
        if record.get("spectra"):
            _write_spectra(f, record["spectra"])
        if record.get("evolution"):
            _write_evolution(f, record["evolution"], record.get("observable_definitions") or {})
        g = f.create_group("solver")
        for k, v in record["solver"].items():
            g.attrs[k] = v
        g = f.create_group("timings")
        timings = record["timings"]() if callable(record["timings"]) else record["timings"]
        for phase, (lo, hi, mean) in timings.items():
            p = g.create_group(phase)
            p.attrs["min"], p.attrs["max"], p.attrs["mean"] = lo, hi, mean
        per_rank = record.get("timings_per_rank")
        per_rank = per_rank() if callable(per_rank) else per_rank
        if per_rank:
            g = f.create_group("timings_per_rank")
            for phase, seconds in per_rank.items():
                g.create_dataset(phase, data=np.asarray(seconds, dtype=np.float64))
        g = f.create_group("memory")
        for k, v in record["memory"].items():
            g.create_dataset(k, data=np.asarray(v))
        g = f.create_group("provenance")
        for k, v in record["provenance"].items():
            g.attrs[k] = str(v).replace("\x00", "").strip()
        if record.get("sweep"):
            g = f.create_group("sweep")
            for k, v in record["sweep"].items():
                g.attrs[k] = v
        f.attrs["complete"] = True


def _write_evolution(f, ev, definitions):
    """``/evolution``: times, energy, norm and every observable against time."""
    g = f.create_group("evolution")
    for key in ("times", "energy", "norm"):
        g.create_dataset(key, data=np.asarray(ev[key], dtype=np.float64))
    for key in ("definition", "method", "products", "krylov_steps", "seconds", "matmult_seconds", "checkpoints"):
        g.attrs[key] = ev.get(key, 0)
    obs = g.create_group("observables")
    for name, v in ev["observables"].items():
        d = obs.create_dataset(name, data=np.asarray(v))
        if name in definitions:
            d.attrs["definition"] = definitions[name]


def _write_spectra(f, spectra):
    """``/spectra/<name>`` of every [[spectrum]] (the dicts of :func:`fockmpi.spectra.dynamical_correlation`)."""
    top = f.create_group("spectra")
    for name, rec in spectra.items():
        g = top.create_group(name)
        for key in ("omega", "S", "q_labels", "q"):
            g.create_dataset(key, data=np.asarray(rec[key]))
        for key in ("definition", "broadening", "energy0"):
            g.attrs[key] = rec[key]
        for branch in ("positive", "negative"):
            if branch not in rec:
                continue
            b = g.create_group(branch)
            for key, v in rec[branch].items():
                b.create_dataset(key, data=np.array([s.encode() for s in v]) if key == "sector" else np.asarray(v))


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


def _pyplot():
    """matplotlib's pyplot on the file backend, or None without matplotlib (plots are optional)."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    return plt


def _save(plt, fig, path, suffix):
    """``NAME_<suffix>.png`` beside the results file ``path``; returns its path."""
    fig.tight_layout()
    out = os.path.splitext(path)[0] + f"_{suffix}.png"
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def _momentum_ticks(labels):
    """Tick labels of momentum labels (m1, m2): "m1" on chains, "(m1,m2)" on 2D lattices."""
    labels = np.asarray(labels)
    if labels.shape[1] > 1 and labels[:, 1].any():
        return [f"({a},{b})" for a, b in labels[:, :2]]
    return [str(a) for a in labels[:, 0]]


def plot_tower(path, sectors):
    """``NAME_tower.png`` next to the results: energies against the momentum (or the sector
    index when there is no momentum), one marker per level.  None without matplotlib."""
    plt = _pyplot()
    if plt is None:
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
    return _save(plt, fig, path, "tower")


def plot_correlations(path, observables, distances=None):
    """``NAME_<obs>.png`` next to the results for every correlation matrix ``<obs>`` (``pairs =
    "all"``) of eigenvector 0: <O_0j> against the site j, or against the distance |r_j - r_0|
    when ``distances`` (the minimum-image distance of every site from site 0) is given, and,
    with ``structure_factor``, S(q) against the momentum.  Returns the files written (none
    without matplotlib).  Not collective."""
    plt = _pyplot()
    if plt is None:
        return []
    written = []
    for name, C in sorted(observables.items()):
        C = np.asarray(C)
        if C.ndim != 3:
            continue
        S = observables.get(f"{name}_Sq")
        fig, axes = plt.subplots(1, 2 if S is not None else 1, figsize=(10 if S is not None else 5.5, 4))
        axes = np.atleast_1d(axes)
        row = np.real(C[0, 0])
        if distances is not None and len(distances) == len(row):
            d = np.round(np.asarray(distances), 9)
            axes[0].plot(d, row, "o", alpha=0.6, label="every site j")
            shells = np.unique(d)
            axes[0].plot(shells, [row[d == x].mean() for x in shells], "-", color="C1", label="mean per distance")
            axes[0].set_xlabel("distance |r_j - r_0| (minimum image)")
            axes[0].legend(fontsize=7)
        else:
            axes[0].plot(np.arange(len(row)), row, "o-")
            axes[0].set_xlabel("site j")
        axes[0].axhline(0, color="0.7", lw=0.8)
        axes[0].set_ylabel(f"<{name}> (0, j)")
        axes[0].set_title(f"{name}: site 0 with site j, eigenvector 0")
        if S is not None:
            labels = np.asarray(observables[f"{name}_q_labels"])
            values = np.real(np.asarray(S)[0])
            axes[1].bar(np.arange(len(values)), values, color="C1")
            axes[1].set_xticks(np.arange(len(values)))
            axes[1].set_xticklabels(_momentum_ticks(labels), rotation=60 if len(values) > 12 else 0, fontsize=7)
            axes[1].set_xlabel("momentum m (q = 2 pi m / L)")
            axes[1].set_ylabel(f"S(q) of {name}")
            axes[1].set_title("structure factor")
        written.append(_save(plt, fig, path, name))
    return written


def plot_spectra(path, spectra):
    """``NAME_<spectrum>.png`` next to the results for every ``[[spectrum]]``: S(q, omega) as a
    colour map over the momenta in the order the entry lists them (the path of q points) and the
    frequency, with the sum rule of each q below.  Returns the files written (none without
    matplotlib).  Not collective."""
    plt = _pyplot()
    if plt is None:
        return []
    written = []
    for name, rec in sorted(spectra.items()):
        S, omega, labels = np.asarray(rec["S"]), np.asarray(rec["omega"]), np.asarray(rec["q_labels"])
        ticks = _momentum_ticks(labels)
        two_d = "(" in ticks[0]
        fig, axes = plt.subplots(2, 1, figsize=(max(6.0, 0.32 * len(S) + 3), 6.5), sharex=True,
                                 gridspec_kw={"height_ratios": [3, 1]})
        x = np.arange(len(S) + 1) - 0.5
        dw = omega[1] - omega[0]
        y = np.concatenate([omega - dw / 2, [omega[-1] + dw / 2]])
        from matplotlib.colors import PowerNorm
        # (a square-root colour scale: a dominant peak, as at q = pi, leaves the continuum visible)
        mesh = axes[0].pcolormesh(x, y, np.clip(S.T, 0, None), cmap="magma", shading="flat",
                                  norm=PowerNorm(0.5, vmin=0))
        fig.colorbar(mesh, ax=axes[0], label="S(q, omega) (square-root scale)", pad=0.01)
        axes[0].set_ylabel("omega (units of the couplings)")
        definition = json.loads(rec["definition"]) if isinstance(rec["definition"], str) else {}
        axes[0].set_title(f"{name}: O = {definition.get('op', '?')}, {definition.get('branch', 'positive')}, "
                          f"broadening {float(rec['broadening']):g}")
        weight = np.zeros(len(S))
        for branch in ("positive", "negative"):
            if branch in rec:
                weight += np.asarray(rec[branch]["weight"])
        axes[1].bar(np.arange(len(S)), weight, color="C0", width=0.7)
        axes[1].set_ylabel("sum rule")
        axes[1].set_xticks(np.arange(len(S)))
        axes[1].set_xticklabels(ticks, rotation=60 if len(S) > 16 or two_d else 0, fontsize=7)
        axes[1].set_xlabel("momentum m (q = 2 pi m / L)")
        written.append(_save(plt, fig, path, name))
    return written


def plot_evolution(path, ev):
    """``NAME_evolution.png`` next to the results: every scalar observable against time (one
    panel each, up to 6), every profile (``each_site``) as a colour map of site against time,
    and the drift of energy and norm.  Returns the files written (none without matplotlib or
    evolution).  Not collective."""
    if not ev:
        return []
    plt = _pyplot()
    if plt is None:
        return []
    t = np.asarray(ev["times"])
    obs = ev.get("observables", {})
    scalars = [(n, np.asarray(v)) for n, v in sorted(obs.items()) if np.ndim(v) == 1][:6]
    profiles = [(n, np.asarray(v)) for n, v in sorted(obs.items()) if np.ndim(v) == 2][:3]
    panels = len(scalars) + len(profiles) + 1
    cols = min(3, panels)
    rows = -(-panels // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.6 * cols, 3.4 * rows), squeeze=False)
    axes = axes.ravel()
    k = 0
    for name, v in scalars:
        axes[k].plot(t, v, "-", lw=1.4)
        axes[k].set_xlabel("t (1 / couplings)")
        axes[k].set_ylabel(f"<{name}>(t)")
        k += 1
    for name, v in profiles:
        mesh = axes[k].pcolormesh(np.arange(v.shape[1] + 1) - 0.5, t if len(t) == v.shape[0] + 1 else
                                  np.concatenate([t, [t[-1] + (t[-1] - t[-2] if len(t) > 1 else 1.0)]]), v,
                                  cmap="RdBu_r", shading="flat")
        fig.colorbar(mesh, ax=axes[k], pad=0.01)
        axes[k].set_xlabel("site (position in 'sites')")
        axes[k].set_ylabel("t (1 / couplings)")
        axes[k].set_title(f"<{name}> against site and time", fontsize=9)
        k += 1
    drift = np.abs(np.asarray(ev["energy"]) - ev["energy"][0]) + 1e-17
    axes[k].semilogy(t, drift, label="|E(t) - E(0)|")
    axes[k].semilogy(t, np.abs(np.asarray(ev["norm"]) - 1) + 1e-17, label="| ||psi(t)|| - 1 |")
    axes[k].set_xlabel("t (1 / couplings)")
    axes[k].set_title(f"conservation ({ev.get('method', '')})", fontsize=9)
    axes[k].legend(fontsize=7)
    for extra in axes[k + 1:]:
        extra.axis("off")
    return [_save(plt, fig, path, "evolution")]


def read_results(path):
    """Read a results file (serially) into a dict.  Not collective.

    Raises :class:`InputError` (exit status 2) for a missing path, a directory, a file that is
    not HDF5 or not written by fockmpi, a damaged or truncated file, and a results file that is
    incomplete (its run did not finish) or lacks parts a complete one has.
    """
    h5py = import_h5py()
    if not os.path.exists(path):
        raise InputError(f"{path}: no such file")
    if os.path.isdir(path):
        raise InputError(f"{path}: is a directory, not a results file")
    try:
        with open(path, "rb") as f:
            head = f.read(8)
    except OSError as e:
        raise InputError(f"{path}: unreadable ({e.strerror or e})") from None
    if not head:
        raise InputError(f"{path}: an empty file, not a fockmpi results file")
    if not h5py.is_hdf5(path):
        raise InputError(f"{path}: not a fockmpi results file (not HDF5)")
    try:
        f = h5py.File(path, "r")
    except OSError as e:
        raise InputError(f"{path}: unreadable HDF5 file (damaged or truncated: {e})") from None
    with f:
        try:
            fmt, complete = f.attrs.get("format"), f.attrs.get("complete", False)
        except (OSError, KeyError, ValueError, TypeError) as e:
            raise InputError(f"{path}: unreadable HDF5 file (damaged: {e})") from None
        if fmt != FORMAT:
            raise InputError(f"{path}: not a fockmpi results file (an HDF5 file without the "
                             f"attribute format = '{FORMAT}')")
        if not complete:
            raise InputError(f"{path} is incomplete (the run that wrote it did not finish)")
        try:
            out = _read_groups(f)
        except (KeyError, OSError, ValueError, TypeError) as e:
            raise InputError(f"{path}: a damaged results file (marked complete, but {e})") from None
    return out


def _read_evolution(g):
    """``/evolution`` as the dict :func:`fockmpi.evolution.evolve` returned."""
    out = {key: g[key][()] for key in ("times", "energy", "norm")}
    out.update(dict(g.attrs))
    out["observables"] = {k: v[()] for k, v in g["observables"].items()}
    return out


def _read_spectrum(g):
    """``/spectra/<name>`` as the dict :func:`fockmpi.spectra.dynamical_correlation` returned."""
    out = {key: g[key][()] for key in ("omega", "S", "q_labels", "q")}
    out.update({key: g.attrs[key] for key in ("definition", "broadening", "energy0")})
    for branch in ("positive", "negative"):
        if branch in g:
            out[branch] = {key: g[branch][key][()] for key in g[branch]}
            out[branch]["sector"] = [s.decode() for s in out[branch]["sector"]]
    return out


def _sweep_of(f):
    """The ``/sweep`` of one point of a sweep (index, points, parameters as a dict), or None."""
    if "sweep" not in f:
        return None
    import json
    a = f["sweep"].attrs
    return {"index": int(a["index"]), "points": int(a["points"]), "parameters": json.loads(a["parameters"])}


def _read_groups(f):
    out = {
        "job_toml": f["job"].attrs["toml"],
        "sector": dict(f["sector"].attrs),
        "eigenvalues": f["eigenvalues"][()],
        "residuals": f["residuals"][()],
        "solver": dict(f["solver"].attrs),
        "timings": {k: dict(v.attrs) for k, v in f["timings"].items()},
        "timings_per_rank": {k: v[()] for k, v in f["timings_per_rank"].items()} if "timings_per_rank" in f else {},
        "memory": {k: v[()] for k, v in f["memory"].items()},
        "provenance": dict(f["provenance"].attrs),
        "has_vectors": "eigenvectors" in f,
        "observables": {k: v[()] for k, v in f["observables"].items()} if "observables" in f else {},
        "spectra": {k: _read_spectrum(g) for k, g in f["spectra"].items()} if "spectra" in f else {},
        "evolution": _read_evolution(f["evolution"]) if "evolution" in f else None,
        "parallel": dict({k: v[()] for k, v in f["parallel"].items()}, **dict(f["parallel"].attrs))
        if "parallel" in f else None,
        "sweep": _sweep_of(f),
    }
    if "sectors" in f:
        out["eigenvalue_sector"] = f["eigenvalue_sector"][()]
        out["sectors"] = [dict(dict(g.attrs), eigenvalues=g["eigenvalues"][()], residuals=g["residuals"][()])
                          for _, g in sorted(f["sectors"].items())]
    return out
