"""A job with ``[sweep]``, run here: its points one after another (or one point, as a Slurm
array task does with ``--point``).  Collective.

Resumable: a point whose results file exists is done and skipped (``--force`` redoes it); a
point that was stopped for a checkpoint goes on from it with ``--resume``.
"""
import os

from ..errors import ConfigError
from ..jobfile.spec import results_path
from ..jobfile.sweep import point_job, sweep_points
from ..parallel import print0


def run_sweep(job, comm, output_path=None, force=False, quiet=False, petsc_options=None, guard=None,
              resume=False, point=None):
    """Run the points of ``job``'s sweep (all, or only ``point``); return a list of
    ``(point, run_job's dict or None if it was done already)``.  Collective."""
    from .pipeline import run_job
    points = sweep_points(job)
    if point is not None:
        if not 0 <= point < len(points):
            raise ConfigError("--point", f"a point number from 0 to {len(points) - 1} ({len(points)} points)", point)
        points = [points[point]]
    base = results_path(job, output_path)
    if not quiet and len(points) > 1:
        print0(comm, f"sweep: {len(points)} points, results in {os.path.splitext(base)[0]}{os.sep}")
    done = []
    for p in points:
        pjob, out = point_job(job, p, base)
        finished = comm.bcast(os.path.exists(out) if comm.rank == 0 else None, root=0)
        if finished and not force:
            if not quiet:
                print0(comm, f"point {p.index} of {p.total} ({p.label()}): done already ({out}); --force redoes it")
            done.append((p, None))
            continue
        if not quiet:
            print0(comm, f"point {p.index} of {p.total}: {p.label()}")
        if guard is not None:
            guard.published = None
        done.append((p, run_job(pjob, comm, output_path=out, force=force, quiet=quiet,
                                petsc_options=dict(petsc_options or {}), guard=guard, resume=resume)))
    return done
