"""Command line: ``fockmpi run | plan (info) | show | submit | collect``.

Exit status: 0 success, 2 bad input (the message names the key or term), 1 any other failure.
Under MPI every rank parses the same job, so input errors are raised on all ranks alike and
printed once by rank 0; an unexpected error on one rank aborts the whole job instead of
leaving the others waiting in a collective.
"""
import argparse
import contextlib
import os
import sys
import traceback

from .. import __version__
from ..errors import FockmpiError, InputError


def _parser():
    p = argparse.ArgumentParser(
        prog="fockmpi",
        description="Distributed exact diagonalization of second-quantized Hamiltonians "
                    "(PETSc/SLEPc, parallel HDF5).  Run under mpirun/srun for several ranks.",
        epilog="Exit status: 0 success, 2 bad input, 1 failure, 75 stopped for a checkpoint (run again with "
               "--resume), 128+N interrupted by signal N.  "
               "See README.md and jobs/ for job files.")
    p.add_argument("--version", action="version", version=f"fockmpi {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    r = sub.add_parser("run", help="solve a job file and write a results file",
                       description="Build the basis, assemble H, solve and write NAME.h5. "
                                   "Options after '--' go to PETSc/SLEPc, e.g. -- -eps_view.")
    r.add_argument("job", help="job file (TOML)")
    r.add_argument("-o", "--output", help="results file (default: [output] path or results/JOB.h5)")
    r.add_argument("--force", action="store_true", help="overwrite an existing results file (and start over "
                   "instead of resuming from a checkpoint)")
    r.add_argument("--resume", action="store_true", help="go on from the job's checkpoint ([checkpoint] path) "
                   "if there is a valid one, else start from the beginning")
    r.add_argument("-q", "--quiet", action="store_true", help="print nothing but errors")
    r.add_argument("--point", type=int, metavar="K", help="of a job with [sweep]: run only point K (0, 1, ...; "
                   "what a Slurm array task does); default: every point not done yet, one after another")

    for name, text in (("plan", "sector dimension, memory stored, as upper triangle and matrix-free, and a "
                                "recommended layout"),
                       ("info", "the same as plan")):
        i = sub.add_parser(name, help=text,
                           description="Count the sector dimension (U(1) sectors exactly; symmetry sectors exactly "
                                       "up to 5e7 U(1) states, estimated beyond), sample the entries per row, "
                                       "estimate memory per rank for the stored matrix, its upper triangle and the "
                                       "matrix-free operator, and recommend storage, ranks, nodes and a Slurm resource line.")
        i.add_argument("job", help="job file (TOML)")
        i.add_argument("-n", "--ranks", type=int, default=1, help="number of MPI ranks to plan for (default 1)")
        i.add_argument("--memory", type=float, default=None, metavar="GIB",
                       help="memory per node in GiB (default: what this machine has available)")
        i.add_argument("--cores", type=int, default=None, help="cores per node (default: this machine's)")

    s = sub.add_parser("show", help="summarize a results file",
                       description="Print the summary table of a results file.")
    s.add_argument("result", help="results file (.h5)")
    s.add_argument("--plot", action="store_true",
                   help="also draw every correlation matrix ([[observable]] with pairs = \"all\") and its S(q), and "
                        "every [[spectrum]] S(q, omega) as a colour map, observables against time ([evolution]), "
                        "as RESULT_<name>.png (with matplotlib)")

    m = sub.add_parser("measure", help="measure [[observable]] entries in the eigenvectors of a results file",
                       description="Measure the [[observable]] entries of OBS.toml in the eigenvectors of a results "
                                   "file without solving again (the run must have kept its eigenvectors).  Writes a "
                                   "copy of the results with the observables added; the results file itself is "
                                   "not modified.  Run under mpirun like the run.")
    m.add_argument("result", help="results file (.h5) with eigenvectors")
    m.add_argument("observables", help="TOML file of [[observable]] entries")
    m.add_argument("-o", "--output", help="output file (default: RESULT.measured.h5)")
    m.add_argument("--force", action="store_true", help="replace an existing output file")
    m.add_argument("-q", "--quiet", action="store_true", help="print errors only")

    from .submit import add_parser
    add_parser(sub)

    c = sub.add_parser("collect", help="gather the results files of a directory (a sweep) into one table",
                       description="Read every complete results file in DIR (a sweep's points: results/NAME/), "
                                   "and write one table with the swept parameters as columns and the lowest "
                                   "levels: DIR/collected.csv, DIR/collected.h5, and DIR/collected.png (the levels "
                                   "against the first swept parameter, with matplotlib).  Incomplete files are "
                                   "listed and left out, never read as results.")
    c.add_argument("directory", help="directory of results files")
    c.add_argument("--levels", type=int, default=4, help="lowest levels per point in the table (default 4)")
    c.add_argument("-o", "--output", help="path of the table without extension (default DIR/collected)")
    c.add_argument("--force", action="store_true", help="replace an earlier table")

    sc = sub.add_parser("scaling", help="the report of a scaling study (scaling/strong.py, scaling/weak.py)",
                        description="fockmpi scaling report DIR: read every results file of a scaling study in "
                                    "DIR and write DIR/report.csv, DIR/report.md and DIR/report.png (time per "
                                    "phase, speed-up and efficiency against the fewest ranks, memory per rank, "
                                    "bytes and messages per product, load imbalance).")
    sc.add_argument("action", choices=("report",), help="what to do (report)")
    sc.add_argument("directory", help="directory of the study's results files")
    return p


def _petsc_options(tokens):
    out, k = {}, 0
    while k < len(tokens):
        key = tokens[k]
        if not key.startswith("-"):
            raise InputError(f"unexpected argument {key!r}: PETSc options after '--' look like -eps_view")
        if k + 1 < len(tokens) and not tokens[k + 1].startswith("-"):
            out[key.lstrip("-")] = tokens[k + 1]
            k += 2
        else:
            out[key.lstrip("-")] = ""
            k += 1
    return out


def _size_text(nbytes):
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if nbytes < 1024 or unit == "TiB":
            return f"{nbytes:.1f} {unit}"
        nbytes /= 1024


def cmd_run(args):
    from ..jobfile.table import load_job
    from ..parallel import world
    from .pipeline import run_job
    from ..jobfile.sweep import sweep_points
    comm = world()
    job = load_job(args.job)
    options = dict(output_path=args.output, force=args.force, quiet=args.quiet,
                   petsc_options=_petsc_options(args.petsc), guard=getattr(args, "guard", None), resume=args.resume)
    if sweep_points(job) is not None:
        from .sweep import run_sweep
        run_sweep(job, comm, point=args.point, **options)
    elif args.point is not None:
        raise InputError(f"--point {args.point}: {args.job} has no [sweep]")
    else:
        run_job(job, comm, **options)
    return 0


def cmd_submit(args):
    from .submit import check_args, submit
    check_args(args)
    return submit(args)


def cmd_measure(args):
    from ..parallel import world
    from .measure import measure_results
    measure_results(args.result, args.observables, world(), args.output, args.force, args.quiet)
    return 0


def cmd_scaling(args):
    from .scaling import write_report
    if not os.path.isdir(args.directory):
        raise InputError(f"{args.directory}: no such directory (the results of a scaling study)")
    for path in write_report(args.directory):
        print(path)
    return 0


def cmd_collect(args):
    from .collect import collect
    if args.levels < 1:
        raise InputError(f"--levels: expected a positive integer, found {args.levels}")
    collect(args.directory, levels=args.levels, output=args.output, force=args.force)
    return 0


def cmd_plan(args):
    from ..jobfile.table import load_job
    from .pipeline import describe_job
    if args.ranks < 1:
        raise InputError(f"--ranks: expected a positive integer, found {args.ranks}")
    if args.memory is not None and not args.memory > 0:
        raise InputError(f"--memory: expected a positive number of GiB, found {args.memory}")
    if args.cores is not None and args.cores < 1:
        raise InputError(f"--cores: expected a positive integer, found {args.cores}")
    job = load_job(args.job)
    from ..jobfile.spec import results_path
    from ..jobfile.sweep import point_job, sweep_points
    points = sweep_points(job)
    if points:
        print(f"[sweep] of {len(points)} points; this plan is for point 0 ({points[0].label()})")
        job = point_job(job, points[0], results_path(job))[0]
    info = describe_job(job, args.ranks, args.memory * 2 ** 30 if args.memory else None, args.cores)
    p, est = info["problem"], info["estimate"]
    terms = ("integrals applied by the direct-CI operator" if est.direct_ci else
             f"{p.compiled.nmonomials} monomials")
    print(f"{p.title()}  |  {p.space.nsites} sites ({'/'.join(p.space.kinds)})  |  {info['scalar']} H, {terms}")
    if p.groups is not None:
        largest = max(g.order for g in p.groups if g is not None)
        print(f"{len(p.groups)} symmetry sectors of {p.sector.label()} (\"all\"): together dimension "
              f"{est.dimension}, each about {est.dimension / largest:.3g} or more "
              f"(up to {largest} symmetry operations); the estimate below is for the whole U(1) sector")
    elif p.group is None:
        print(f"sector {p.sector.label()}: dimension {est.dimension} "
              f"(of {p.space.full_dimension()}; counted in {info['seconds']:.2f} s)")
    else:
        how = "counted" if est.exact else f"estimated as U(1) dimension / {p.group.order} group elements"
        print(f"sector {p.sector_label()}: dimension {'' if est.exact else '~'}{est.dimension} "
              f"({how}, {info['seconds']:.2f} s; U(1) sector {est.u1_dimension}, "
              f"full space {p.space.full_dimension()})")
    for request in p.spectra or []:
        from ..spectra import describe
        print(f"[[spectrum]] {describe(request)}: one Lanczos run per momentum and branch, each in the sector "
              "the operator reaches (built then)")
    if p.evolution is not None:
        ev = p.evolution
        print(f"[evolution] {len(ev.times)} times to t = {ev.times[-1]:g} from "
              f"{'the ground state' if ev.initial == 'ground' else 'a product state'}"
              f"{' with the quench Hamiltonian' if p.quench is not None else ''}, {ev.method}: "
              f"{ev.krylov_dim + 3} vectors of the sector besides H")
    if est.direct_ci:
        return _plan_direct(args, info, est)
    print(f"non-zeros per row ~{est.per_row:.1f}, total ~{est.per_row * est.dimension:.3g}"
          + (f"; {100 * est.remote_share:.0f}% of them in columns of other ranks" if args.ranks > 1 else ""))
    titles = {"aij": "stored (aij)", "upper": "upper triangle", "shell": "matrix-free (shell)"}
    width = {"aij": 16, "upper": 16, "shell": 22}  # columns under the titles (the first line's text is 4 shorter)
    parts = {s: est.parts(s) for s in est.storages}
    print(f"estimated memory per rank on {args.ranks} rank(s):" + "".join(f"{titles[s]:>{width[s]}}" for s in parts))

    def row(label, cells):
        print(f"  {label:<36}" + "".join(f"{c:>{width[s]}}" for s, c in zip(parts, cells)))
    for key in dict.fromkeys(k for p in parts.values() for k in p):
        row(key, [_size_text(p[key]) if key in p else "-" for p in parts.values()])
    row("peak", [_size_text(est.total(s)) for s in parts])
    if info["nodes"]:
        mem, cores = info["memory_per_node"], info["cores_per_node"]
        storage, nodes, per_node = info["storage"], info["nodes"], info["ranks_per_node"]
        need = per_node * est.total(storage)
        print(f"recommended: storage = \"{storage}\", {args.ranks} rank(s) on {nodes} node(s), {per_node} per node "
              f"(nodes of {mem / 2**30:.3g} GiB, {cores} cores; ~{need / 2**30:.3g} GiB used per node)")
        others = ", ".join(f"{s}: {est.nodes(s, mem, cores)} node(s)" for s in est.storages if s != storage)
        print(f"  ({others}; a matrix-free product costs about one assembly, a stored one a sweep through "
              "memory, the upper triangle one with half the bytes)")
        _print_slurm(args, nodes, per_node, need)
    for text in info["warnings"]:
        print(f"warning: {text}")
    return 0


cmd_info = cmd_plan


def _print_slurm(args, nodes, per_node, need):
    """The #SBATCH line and the launch of a recommended layout (``need``: bytes per node)."""
    from .submit import slurm_memory_gib
    gib = slurm_memory_gib(need)
    print(f"  slurm: #SBATCH --nodes={nodes} --ntasks={args.ranks} --ntasks-per-node={per_node} --mem={gib}G")
    print(f"         srun --mpi=pmix fockmpi run {args.job}")


def _plan_direct(args, info, est):
    """The memory table of an FCIDUMP job on the direct-CI operator (no stored matrix)."""
    d = est.direct_ci
    print(f"direct CI: {d['alpha_strings']} alpha x {d['beta_strings']} beta strings, {d['pairs']} orbital pairs, "
          "matrix-free, split by alpha strings")
    parts = est.parts("direct")
    print(f"estimated memory per rank on {args.ranks} rank(s):{'direct CI':>14}")
    for key, value in parts.items():
        print(f"  {key:<46}{_size_text(value):>12}")
    print(f"  {'total':<46}{_size_text(est.total('direct')):>12}")
    if info["nodes"]:
        nodes, per_node = info["nodes"], info["ranks_per_node"]
        need = per_node * est.total("direct")
        print(f"recommended: {args.ranks} rank(s) on {nodes} node(s), {per_node} per node "
              f"(~{need / 2**30:.3g} GiB used per node)")
        _print_slurm(args, nodes, per_node, need)
    for text in info["warnings"]:
        print(f"warning: {text}")
    return 0


def cmd_show(args):
    from ..io.results import read_results
    r = read_results(args.result)
    try:
        _show(args, r)
    except (KeyError, IndexError, TypeError, ValueError) as e:
        raise InputError(f"{args.result}: a damaged results file (marked complete, but {e!r} is missing "
                         "or malformed)") from None
    return 0


def _show(args, r):
    sec = r["sector"]
    prov = r["provenance"]
    print(f"{args.result}: sector {sec['label']}, dimension {sec['dimension']}, {prov.get('ranks')} ranks, "
          f"fockmpi {prov.get('fockmpi')} ({str(prov.get('git_commit'))[:10]}), {prov.get('start')}")
    if r.get("sweep"):
        sw = r["sweep"]
        print(f"sweep point {sw['index']} of {sw['points']}: "
              + ", ".join(f"{k} = {v}" for k, v in sw["parameters"].items()))
    s = r["solver"]
    if "sectors" in r:
        print(f"solver {s.get('method')}: {s.get('sectors')} sectors, {s.get('matvecs')} matvecs, {s.get('scalar')}")
    else:
        print(f"solver {s.get('method')}: {s.get('iterations')} iterations, {s.get('matvecs')} matvecs, "
              f"nnz {s.get('nnz')}, {s.get('scalar')}")
    print(f"  {'phase':<10}{'min [s]':>10}{'max [s]':>10}{'mean [s]':>10}")
    for phase in ("model", "basis", "assembly", "solve", "spectra", "evolution", "output"):
        if phase in r["timings"]:
            t = r["timings"][phase]
            print(f"  {phase:<10}{t['min']:>10.3f}{t['max']:>10.3f}{t['mean']:>10.3f}")
    mem = r["memory"]
    print(f"  peak memory per rank: {max(mem['peak_rss_bytes']) / 2**20:.0f} MiB (max)")
    sectors = r.get("sectors")
    # <v_k|O|v_k> of the model (FCIDUMP: S2) and of [[observable]] (correlation matrices: listed below)
    import numpy as np
    observed = sorted((n, v) for n, v in r.get("observables", {}).items() if np.ndim(v) == 1)
    matrices = sorted((n, v) for n, v in r.get("observables", {}).items() if np.ndim(v) == 3)
    print(f"  {'k':>3}  {'eigenvalue':>22}  {'residual':>10}" + "".join(f"  {'<' + n + '>':>9}" for n, _ in observed)
          + ("  sector" if sectors else ""))
    for k, (e, res) in enumerate(zip(r["eigenvalues"], r["residuals"])):
        where = f"  {sectors[r['eigenvalue_sector'][k]]['label']}" if sectors else ""
        values = "".join(f"  {v[k]:>9.6f}" for _, v in observed)
        print(f"  {k:>3}  {e:>22.14f}  {res:>10.2e}{values}{where}")
    found = r.get("observables", {})
    for n, v in matrices:
        print(f"  {n}: <O_ij> for every pair of sites, {v.shape[1]} x {v.shape[2]} per eigenvector "
              f"(/observables/{n}); eigenvector 0, row i = 0: " + " ".join(f"{x:.6f}" for x in v[0, 0, :8])
              + (" ..." if v.shape[2] > 8 else ""))
        if f"{n}_Sq" in found:
            S, labels = np.asarray(found[f"{n}_Sq"]), found[f"{n}_q_labels"]
            top = int(np.argmax(np.real(S[0])))
            print(f"  {n}_Sq: S(q) on {len(labels)} momenta (/observables/{n}_Sq); eigenvector 0: largest "
                  f"{np.real(S[0, top]):.6f} at m = {tuple(int(x) for x in labels[top])}")
    for n, rec in sorted(r.get("spectra", {}).items()):
        parts = [b for b in ("positive", "negative") if b in rec]
        steps = np.concatenate([np.asarray(rec[b]["steps"]) for b in parts]) if parts else np.zeros(1)
        weight = sum(np.asarray(rec[b]["weight"]) for b in parts) if parts else np.zeros(len(rec["S"]))
        top = np.unravel_index(int(np.argmax(rec["S"])), np.shape(rec["S"]))
        print(f"  {n}: S(q, omega) on {len(rec['S'])} momenta x {len(rec['omega'])} frequencies "
              f"(/spectra/{n}), {' + '.join(parts)}; {int(steps.min())}-{int(steps.max())} Lanczos steps; "
              f"sum rule {weight.min():.6g} .. {weight.max():.6g}; largest {rec['S'][top]:.6g} at "
              f"m = {tuple(int(x) for x in rec['q_labels'][top[0]])}, omega = {rec['omega'][top[1]]:.4g}")
    for n, v in sorted(found.items()):
        if np.ndim(v) == 2:
            print(f"  {n}: {v.shape[1]} values per eigenvector (a profile over sites, or a distribution over local "
                  f"states: /observables/{n}); eigenvector 0: "
                  + " ".join(f"{x:.6f}" for x in v[0, :8]) + (" ..." if v.shape[1] > 8 else ""))
    if r.get("evolution"):
        from .dynamics import evolution_summary
        print("  " + evolution_summary(r["evolution"]))
    if getattr(args, "plot", False):
        from ..io.results import plot_correlations, plot_evolution, plot_spectra
        written = plot_correlations(args.result, found, _distances(r)) + plot_spectra(args.result, r.get("spectra", {})) + \
            plot_evolution(args.result, r.get("evolution"))
        print("  plots: " + (", ".join(written) if written else "none (no correlation matrix or spectrum, or no "
                                                              "matplotlib)"))
    return 0


def _distances(r):
    """The minimum-image distance of every site from site 0 on the job's lattice, or None (a model
    with its own sites, or a job that no longer reads)."""
    try:
        from ..jobfile.lattice import lattice_from_table
        from ..jobfile.table import Table, parse_job
        job = parse_job(_toml_loads(r["job_toml"]))
        if "lattice" not in job.sections:
            return None
        from ..observables import minimum_image_distances
        return minimum_image_distances(lattice_from_table(Table(job.sections["lattice"], "[lattice]")))
    except Exception:  # noqa: BLE001 - a plot without distances is still a plot
        return None


def _toml_loads(text):
    try:
        import tomllib
    except ImportError:  # Python < 3.11
        import tomli as tomllib
    return tomllib.loads(text)


def _launcher_rank():
    """This process's rank as mpirun, srun or another launcher says (0 when not launched so),
    read from the environment so that serial commands need not start MPI."""
    for var in ("OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK", "MV2_COMM_WORLD_RANK"):
        if os.environ.get(var, "").isdigit():
            return int(os.environ[var])
    if os.environ.get("SLURM_STEP_ID") is not None and os.environ.get("SLURM_PROCID", "").isdigit():
        return int(os.environ["SLURM_PROCID"])
    return 0


def main(argv=None, install_signal_handlers=False):
    """The command line.  ``install_signal_handlers`` (the console script sets it) makes
    SIGINT and SIGTERM end a run on every rank with one message (:class:`~fockmpi.parallel.RunGuard`);
    a caller that runs :func:`main` in its own process (tests, notebooks) keeps its handlers."""
    # One BLAS thread per MPI rank: the ranks already fill the cores, and a threaded BLAS
    # (Debian links OpenBLAS-pthreads) oversubscribes them.  Must precede importing numpy.
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    argv = list(sys.argv[1:] if argv is None else argv)
    petsc = argv[argv.index("--") + 1:] if "--" in argv else []
    argv = argv[:argv.index("--")] if "--" in argv else argv
    quiet_rank = _launcher_rank() > 0
    try:
        if quiet_rank:  # a usage error is printed by the first rank of mpirun/srun only
            with open(os.devnull, "w") as devnull, contextlib.redirect_stderr(devnull), \
                    contextlib.redirect_stdout(devnull):
                args = _parser().parse_args(argv)
        else:
            args = _parser().parse_args(argv)
    except SystemExit as e:
        return e.code
    args.petsc = petsc
    handler = {"run": cmd_run, "plan": cmd_plan, "info": cmd_plan, "show": cmd_show, "submit": cmd_submit,
               "collect": cmd_collect, "measure": cmd_measure, "scaling": cmd_scaling}[args.command]
    rank, size, guard = 0, 1, None
    if args.command != "run" and quiet_rank:
        # `mpirun -n 4 fockmpi info ...`: info and show are serial; every rank works alike, so
        # only the first speaks (and all return the same status)
        sys.stdout = sys.stderr = open(os.devnull, "w")  # noqa: SIM115 - until exit
    if args.command == "run":
        from ..parallel import RunGuard, world
        comm = world()
        rank, size = comm.rank, comm.size
        guard = RunGuard(comm)
        if install_signal_handlers:
            guard.install()
        args.guard = guard
    try:
        code = handler(args)
        if guard is not None:
            guard.close()
        return code
    except FockmpiError as e:
        if guard is not None and size > 1 and not guard.all_agree(patience=10.0):
            # only this rank failed (the others are still working or waiting): end them all
            guard.end(e.exit_code, f"fockmpi: error: {e}", patience=0.0)
        if rank == 0:
            from ..errors import Checkpointed
            print(f"fockmpi: {'' if isinstance(e, Checkpointed) else 'error: '}{e}", file=sys.stderr, flush=True)
        if guard is not None:
            guard.close()
        return e.exit_code
    except KeyboardInterrupt:
        if guard is not None and size > 1:
            guard.end(130, "fockmpi: interrupted by SIGINT; the run stopped", patience=0.5)
        print("fockmpi: interrupted by SIGINT", file=sys.stderr, flush=True)
        return 130
    except BrokenPipeError:  # output piped into e.g. head
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - stays open until exit
        return 0
    except Exception:  # noqa: BLE001 - last resort: never hang the other ranks
        sys.stderr.write(f"[rank {rank}] fockmpi: internal error:\n{traceback.format_exc()}")
        sys.stderr.flush()
        if size > 1:
            from ..parallel import world
            world().Abort(1)
        return 1


def console_main():
    """Entry point of the ``fockmpi`` command."""
    sys.exit(main(install_signal_handlers=True))
