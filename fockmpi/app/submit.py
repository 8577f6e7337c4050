"""``fockmpi submit``: a job file becomes a Slurm batch script (``slurm/fockmpi.sbatch`` filled
in), shown with ``--dry-run`` or handed to ``sbatch``.  Not collective (a login-node command).

Resources come from ``[slurm]`` and the command line (:mod:`fockmpi.jobfile.slurm`); what is
not given comes from the planner: the nodes for ``node_memory``, and ``--mem`` as the planner's
estimate per node / 0.7.  A job with ``[sweep]`` becomes a job array, one task per point.
Before anything is submitted the job is checked as ``fockmpi run`` would check it (every key,
the sector's capacity, the results and checkpoint paths), so a mistake costs seconds at the
login node, not a place in the queue.
"""
import os
import shlex
import shutil
import subprocess
import sys

from ..errors import ConfigError, FockmpiError, InputError, OutputExistsError

TEMPLATE_NAME = "fockmpi.sbatch"
LAUNCHERS = {"srun": "srun --mpi=pmix", "mpirun": "mpirun -n \"$SLURM_NTASKS\""}


def default_template():
    """The template of this installation: ``slurm/fockmpi.sbatch`` of the source tree (an
    editable install) or ``share/fockmpi/slurm`` of the environment (``pip install .``)."""
    here = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    for candidate in (os.path.join(here, "slurm", TEMPLATE_NAME),
                      os.path.join(sys.prefix, "share", "fockmpi", "slurm", TEMPLATE_NAME)):
        if os.path.isfile(candidate):
            return candidate
    raise FockmpiError(f"the batch-script template {TEMPLATE_NAME} is not installed (looked in {here}/slurm and "
                       f"{sys.prefix}/share/fockmpi/slurm); give one with --template")


def render(template_text, values):
    """``template_text`` with every ``{{name}}`` replaced; a name without a value is an error."""
    import re
    missing = sorted(set(re.findall(r"\{\{(\w+)\}\}", template_text)) - set(values))
    if missing:
        raise InputError(f"the batch-script template has placeholders fockmpi does not fill: "
                         f"{', '.join('{{' + m + '}}' for m in missing)}; known: {', '.join(sorted(values))}")
    out = template_text
    for name, value in values.items():
        out = out.replace("{{" + name + "}}", str(value))
    return out


def plan_memory(job, slurm, point_jobs):
    """(nodes, ranks per node, GiB per node to ask for) from the planner, for the largest of
    ``point_jobs`` (the job itself, or a sweep's first and last point).  Not collective."""
    from .pipeline import describe_job
    memory = slurm.node_memory * 2 ** 30 if slurm.node_memory else None
    best = None
    for pjob in point_jobs:
        info = describe_job(pjob, slurm.ranks, memory, slurm.node_cores)
        est = info["estimate"]
        storage = "direct" if est.direct_ci else info["storage"]
        if storage == "auto":
            storage = "aij"
        nodes = slurm.nodes or info["nodes"] or 1
        per_node = -(-slurm.ranks // nodes)
        need = per_node * est.total(storage)
        if best is None or need > best[2]:
            best = (nodes, per_node, need, info["warnings"])
    nodes, per_node, need, warnings = best
    return nodes, per_node, slurm_memory_gib(need), warnings


def slurm_memory_gib(need_bytes):
    """GiB to ask Slurm for when ``need_bytes`` are expected per node (30% headroom)."""
    return max(1, -(-int(need_bytes / 0.7) // 2 ** 30))


def build_script(job, slurm, args):
    """The rendered batch script and what it asks for (a dict).  Checks everything first."""
    from ..jobfile.spec import results_path
    from ..jobfile.sweep import point_job, sweep_points
    points = sweep_points(job)
    base = results_path(job, args.output)
    stem = os.path.splitext(os.path.basename(job.path))[0]
    if points:
        ends = [points[0]] if len(points) == 1 else [points[0], points[-1]]
        planned = [point_job(job, p, base)[0] for p in ends]
    else:
        planned = [job]
        _check_outputs(job, base, args)
    nodes, per_node, gib, warnings = plan_memory(job, slurm, planned)
    if slurm.memory:
        gib = slurm.memory
    lines = []
    if nodes:
        lines += [f"#SBATCH --nodes={nodes}", f"#SBATCH --ntasks-per-node={per_node}"]
    lines.append(f"#SBATCH --mem={gib:g}G")
    for key in ("partition", "account", "qos"):
        if getattr(slurm, key):
            lines.append(f"#SBATCH --{key}={getattr(slurm, key)}")
    if points:
        throttle = f"%{slurm.parallel}" if slurm.parallel else ""
        lines.append(f"#SBATCH --array=0-{len(points) - 1}{throttle}")
    for extra in slurm.sbatch:
        extra = extra.strip()
        lines.append(extra if extra.startswith("#SBATCH") else f"#SBATCH {extra}")
    log = slurm.log or os.path.join(os.path.dirname(base) or ".",
                                    f"{stem}.{'%A_%a' if points else '%j'}.out")
    command = slurm.command or f"{shlex.quote(sys.executable)} -m fockmpi"
    run_args = []
    if args.output:
        run_args += ["-o", shlex.quote(os.path.abspath(args.output))]
    if points:
        run_args += ["--point", "\"$SLURM_ARRAY_TASK_ID\""]
    values = {
        "job_name": slurm.job_name or stem,
        "ranks": slurm.ranks,
        "time": slurm.time,
        "log": os.path.abspath(log),
        "workdir": os.path.abspath(os.getcwd()),
        "warning": slurm.warning,
        "sbatch_lines": "\n".join(lines),
        "setup": "\n".join(slurm.setup) if slurm.setup else "# (none: the environment of `fockmpi submit` is passed on)",
        "first_mode": "--force" if args.force else ("--resume" if args.resume or points else ""),
        "launcher": LAUNCHERS.get(slurm.launcher, slurm.launcher),
        "command": command,
        "job": shlex.quote(os.path.abspath(job.path)),
        "run_args": " ".join(run_args),
        "requeues": slurm.requeues,
    }
    template = args.template or slurm.template or default_template()
    if not os.path.isfile(template):
        raise InputError(f"--template {template}: no such file")
    with open(template) as f:
        script = render(f.read(), values)
    return script, {"nodes": nodes, "per_node": per_node, "memory_gib": gib, "points": len(points) if points else 0,
                    "log": values["log"], "warnings": warnings}


def _check_outputs(job, base, args):
    """What ``fockmpi run`` would refuse at the start, refused now: an existing results file
    (without --force) or checkpoint (without --resume or --force), an unwritable directory."""
    from ..io.results import check_path, existing_ancestor
    from ..jobfile.spec import read_job
    error = check_path(base, args.force, job.path)
    if error is not None:
        raise error
    probe = existing_ancestor(base)  # (a dry run creates nothing: asked, not tried)
    if not os.access(probe, os.W_OK):
        raise InputError(f"output path {base}: cannot write in {probe}; choose another path with -o")
    ck = read_job(job, args.output).checkpoint.path
    if os.path.exists(ck) and not (args.resume or args.force):
        raise OutputExistsError(f"a checkpoint of an earlier run of this job is at {ck}: --resume goes on from it, "
                                "--force starts over (and replaces it)")


def submit(args):
    """``fockmpi submit``: render, show or submit; print the job id.  Returns the exit status."""
    from ..jobfile.slurm import slurm_from_table
    from ..jobfile.table import load_job
    job = load_job(args.job)
    overrides = {"ranks": args.ranks, "nodes": args.nodes, "time": args.time, "partition": args.partition,
                 "account": args.account, "qos": args.qos, "memory": args.mem, "setup": args.setup,
                 "sbatch": args.sbatch, "launcher": args.launcher, "warning": args.warning,
                 "requeues": args.requeues, "parallel": args.parallel, "job_name": args.job_name}
    slurm = slurm_from_table(job.table("slurm"), overrides)
    script, what = build_script(job, slurm, args)
    for text in what["warnings"]:
        print(f"warning: {text}", file=sys.stderr)
    if args.dry_run:
        sys.stdout.write(script)
        return 0
    if shutil.which("sbatch") is None:
        raise FockmpiError("sbatch is not on PATH (not a Slurm login node?); --dry-run prints the script")
    os.makedirs(os.path.dirname(what["log"]), exist_ok=True)
    done = subprocess.run(["sbatch", "--parsable"], input=script, capture_output=True, text=True, timeout=120)
    if done.returncode:
        raise FockmpiError(f"sbatch refused the job: {done.stderr.strip() or done.stdout.strip()}")
    job_id = done.stdout.strip().split(";")[0]
    record = os.path.join(os.path.dirname(what["log"]), f"{os.path.splitext(os.path.basename(job.path))[0]}.{job_id}.sbatch")
    with open(record, "w") as f:
        f.write(script)
    kind = f"array of {what['points']} points" if what["points"] else "job"
    print(f"submitted {kind} {job_id}: {slurm.ranks} rank(s) on {what['nodes']} node(s), {what['memory_gib']:g} GiB "
          f"per node, time {slurm.time}; log {what['log']}; script {record}")
    print(job_id)
    return 0


def add_parser(sub):
    """The ``submit`` subcommand's arguments."""
    s = sub.add_parser("submit", help="write a Slurm batch script for a job and submit it (sbatch)",
                       description="Render slurm/fockmpi.sbatch for JOB ([slurm] table, then these flags; memory "
                                   "and nodes from the planner unless given), show it (--dry-run) or submit it "
                                   "with sbatch and print the job id.  The script requeues itself when the run "
                                   "stops for a checkpoint (exit 75) and resumes; a [sweep] becomes a job array.")
    s.add_argument("job", help="job file (TOML)")
    s.add_argument("-n", "--ranks", type=int, help="MPI ranks (--ntasks)")
    s.add_argument("--nodes", type=int, help="nodes (default: the planner's)")
    s.add_argument("--time", help="time limit: minutes, MM:SS, HH:MM:SS or D-HH:MM:SS")
    s.add_argument("--partition")
    s.add_argument("--account")
    s.add_argument("--qos")
    s.add_argument("--mem", type=float, metavar="GIB", help="memory per node in GiB (default: the planner's)")
    s.add_argument("--setup", action="append", default=[], metavar="LINE",
                   help="a shell line run before the job, e.g. 'module load petsc' (repeatable)")
    s.add_argument("--sbatch", action="append", default=[], metavar="OPTION",
                   help="another #SBATCH option, e.g. --constraint=ib (repeatable)")
    s.add_argument("--launcher", help="srun (default: srun --mpi=pmix), mpirun, or a launch command")
    s.add_argument("--warning", type=int, metavar="SECONDS",
                   help="seconds before the time limit at which the run checkpoints (default 300)")
    s.add_argument("--requeues", type=int, help="requeue at most this many times (default 20)")
    s.add_argument("--parallel", type=int, help="a sweep's array runs at most this many points at once")
    s.add_argument("--job-name")
    s.add_argument("--template", help="batch-script template (default: slurm/fockmpi.sbatch)")
    s.add_argument("-o", "--output", help="results file (default: [output] path or results/JOB.h5)")
    s.add_argument("--force", action="store_true", help="the run replaces existing results and checkpoint")
    s.add_argument("--resume", action="store_true", help="the first start already goes on from a checkpoint")
    s.add_argument("--dry-run", action="store_true", help="print the script, submit nothing")
    return s


def check_args(args):
    """What slurm_from_table cannot check by the flag's name (the other flags are checked there,
    with the [slurm] key's rule)."""
    if args.mem is not None and not args.mem > 0:
        raise ConfigError("--mem", "a positive number of GiB", args.mem)
    if args.force and args.resume:
        raise ConfigError("--force", message="--force and --resume contradict each other: --force starts over, "
                          "--resume goes on from the checkpoint")
