"""``fockmpi measure RESULT.h5 OBS.toml``: observables of the eigenvectors in a results file,
without solving again.

The problem is rebuilt from the job text the results file keeps, with the ``[[observable]]``
entries of OBS.toml in place of the job's own; the basis is built again and checked state by
state against ``/basis_states`` (each rank its rows); each rank reads its rows of
``/eigenvectors``; the observables are measured as a run measures them
(:func:`fockmpi.observables.measure`).  The output is a copy of RESULT with the new
observables added, written under a temporary name and renamed when complete: RESULT itself is
never modified, and nothing is overwritten without ``force``.  Collective.
"""
import os
import shutil
import tomllib

import numpy as np

from ..errors import ConfigError, InputError
from ..parallel import collective_errors, print0


def measured_path(result):
    """The default output: ``RESULT`` with ``.measured`` before its extension."""
    stem, ext = os.path.splitext(result)
    return f"{stem}.measured{ext or '.h5'}"


def read_observable_file(path):
    """The ``[[observable]]`` entries of ``path`` (a TOML file with nothing else).  Not collective."""
    if not os.path.isfile(path):
        raise ConfigError("observables file", "an existing TOML file", path, hint="check the path")
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise ConfigError(path, message=f"{path}: not valid TOML: {e}") from None
    other = sorted(k for k in data if k != "observable")
    if other:
        raise ConfigError(path, message=f"{path}: only [[observable]] entries belong in an observables file, "
                          f"not {', '.join(other)}")
    entries = data.get("observable")
    if not isinstance(entries, list) or not entries or not all(isinstance(e, dict) for e in entries):
        raise ConfigError(path, message=f"{path}: no [[observable]] entries (each under its own [[observable]] "
                          "header, with name and op)")
    return entries


def measure_results(result, observables_path, comm, output=None, force=False, quiet=False):
    """Measure the ``[[observable]]`` entries of ``observables_path`` in the eigenvectors of the
    results file ``result`` and write them, with everything ``result`` holds, to ``output``
    (default :func:`measured_path`).  Returns ``{name: values}``.  Collective."""
    from .. import runtime
    from ..basis.make import make_basis
    from ..io.results import prepare_path, publish, read_results, temporary_name
    from ..jobfile.table import parse_job
    from ..observables import measure_all
    from .pipeline import build_problem
    output = output or measured_path(result)
    with collective_errors(comm):
        if os.path.abspath(output) == os.path.abspath(result):
            raise InputError(f"{output}: the output must be another file than the results it measures")
        r = read_results(result)
        if "sectors" in r:
            raise InputError(f"{result} holds several sectors; measure works on the results of one sector")
        if not r["has_vectors"]:
            raise InputError(f"{result} has no eigenvectors (the run had [output] eigenvectors = false); run it "
                             "again with eigenvectors = true, or give the observables in the job")
        entries = read_observable_file(observables_path)
        data = tomllib.loads(r["job_toml"])
        if "sweep" in data:
            raise InputError(f"{result} is a point of a [sweep]; measure does not rebuild sweep points yet")
        data["observable"] = entries
        problem = build_problem(parse_job(data, path=result, text=r["job_toml"]))
    prepare_path(output, force, comm)
    wanted = {name: problem.observables[name] for name in problem.definitions}
    PETSc, _ = runtime.init(str(r["solver"].get("scalar", "real")), int(r["sector"]["dimension"]))
    with collective_errors(comm):
        basis = make_basis(problem.sector, problem.group, comm, gauss=problem.gauss, constraint=problem.constraint,
                           orbitals=problem.orbitals)
        vectors = _read_rows(result, basis, comm)
    values = measure_all(wanted, problem.definitions, problem.lattice, problem.space, problem.sector.names, basis,
                         vectors, comm, PETSc, problem.group)
    tmp = temporary_name(output, comm)
    with collective_errors(comm):
        if comm.rank == 0:
            _copy_with(result, tmp, values, problem.definitions)
    with collective_errors(comm):
        if comm.rank == 0:
            publish(tmp, output, force)
    if not quiet:
        print0(comm, f"  measured {', '.join(sorted(wanted))} in {len(vectors)} eigenvectors of {result}: {output}")
    return values


def _read_rows(path, basis, comm):
    """This rank's rows of every eigenvector in ``path``, after checking its basis rows."""
    from ..runtime import import_h5py
    h5py = import_h5py()
    lo, hi = basis.start, basis.start + basis.local_size
    with h5py.File(path, "r") as f:
        if int(f["basis_states"].shape[0]) != basis.dim:
            raise InputError(f"{path}: {f['basis_states'].shape[0]} basis states, but its job builds {basis.dim} "
                             "now (another fockmpi version?)")
        if not np.array_equal(f["basis_states"][lo:hi], basis.packed_states()):
            raise InputError(f"{path}: its basis states differ from the ones its job builds now (another "
                             "fockmpi version, or another basis order?): measure cannot map the eigenvectors")
        rows = f["eigenvectors"][lo:hi]
    return [np.ascontiguousarray(rows[:, k]) for k in range(rows.shape[1])]


def _copy_with(result, tmp, values, definitions):
    """``tmp``: a copy of ``result`` with ``values`` added under /observables (rank 0)."""
    from ..runtime import import_h5py
    h5py = import_h5py()
    shutil.copyfile(result, tmp)
    with h5py.File(tmp, "a", driver=None) as f:
        g = f.require_group("observables")
        for name, v in values.items():
            if name in g:
                del g[name]
            v = np.asarray(v)
            d = g.create_dataset(name, data=v if v.dtype.kind in "ic" else v.astype(np.float64))
            if name in definitions:
                d.attrs["definition"] = definitions[name]
        g.attrs["meaning"] = ("<v_k|O|v_k> of eigenvector k; in a symmetry sector O averaged over the group "
                              "(the same value for an eigenstate)")
