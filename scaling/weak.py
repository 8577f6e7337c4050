"""Weak scaling: jobs that grow with the rank count, about the same number of states per rank.

    python scaling/weak.py TEMPLATE.toml --param L=16,18,20,22,24 --ranks 1 2 4 8 \\
        --states-per-rank 2e5 [--out DIR] [--launcher srun]

TEMPLATE is a job file with ``$L`` where the size goes (``size = [$L]``; string.Template, so TOML's
own braces are left alone).  Every candidate value is made into a job, and its sector dimension
counted as ``fockmpi plan`` counts it (exact for U(1) sectors and for symmetric sectors up to
5e7 U(1) states, else U(1) / group order); for each rank count the candidate whose dimension per
rank is nearest ``--states-per-rank`` is run (``DIR/jobs/ranks_RRRR.toml``), as the strong driver
runs its points, and ``fockmpi scaling report DIR`` writes the table and the plots (efficiency
there: time at the fewest ranks over time at R, ideally 1 when the work per rank stays the same).
``--submit`` hands the points to ``fockmpi submit`` as the strong driver does.
"""
import argparse
import os
import string
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from strong import HERE, ROOT, add_submit_options, finish, prepare_out, run_point, submit_point, submitted, triads  # noqa: E402


def dimension_of(text, path="<weak>"):
    """The sector dimension of the job ``text`` as ``fockmpi plan`` gives it (no MPI, no PETSc)."""
    sys.path.insert(0, ROOT)
    import tomllib
    from fockmpi.app.pipeline import build_problem
    from fockmpi.app.plan import estimate, is_enumerated, upper_dimension
    from fockmpi.jobfile.table import parse_job
    problem = build_problem(parse_job(tomllib.loads(text), path=path, text=text))
    u1 = upper_dimension(problem)
    count = (problem.group is not None or is_enumerated(problem)) and u1 <= 5 * 10 ** 7
    return int(estimate(problem, 1, count_symmetric=count).dimension)


def choose(candidates, ranks, target):
    """``{R: (value, dimension)}``: for each rank count the candidate nearest ``target`` states per rank."""
    return {r: min(candidates, key=lambda c: abs(c[1] / r - target) / target) for r in ranks}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("template")
    ap.add_argument("--param", required=True, help="NAME=v1,v2,... (the values of $NAME in the template)")
    ap.add_argument("--ranks", type=int, nargs="+", required=True)
    ap.add_argument("--states-per-rank", type=float, required=True)
    ap.add_argument("--out")
    ap.add_argument("--launcher", default="mpirun")
    ap.add_argument("--no-triad", action="store_true")
    ap.add_argument("--cores", type=int, help="cores the ranks share (default: this machine's)")
    ap.add_argument("--force", action="store_true", help="replace the results of an earlier study in --out")
    add_submit_options(ap)
    args = ap.parse_args(argv)
    name, _, values = args.param.partition("=")
    if not name.isidentifier() or not values:
        ap.error("--param: NAME=v1,v2,... such as L=16,18,20")
    with open(args.template) as f:
        template = string.Template(f.read())
    candidates = []
    for value in values.split(","):
        text = template.substitute({name: value.strip()})
        candidates.append((value.strip(), dimension_of(text), text))
    picked = choose([(v, d) for v, d, _ in candidates], args.ranks, args.states_per_rank)
    base = os.path.splitext(os.path.basename(args.template))[0]
    out = args.out or os.path.join(HERE, "results", f"weak_{base}")
    prepare_out(out, args.force)
    os.makedirs(os.path.join(out, "jobs"), exist_ok=True)
    study = {"kind": "weak", "title": f"{base}, about {args.states_per_rank:.3g} states per rank",
             "template": args.template, "param": name, "points": {}, "launcher": args.launcher}
    if not args.no_triad and not args.submit:
        study["triad_GBps"] = triads(args.launcher, args.ranks, args.cores)
    texts = {v: t for v, _, t in candidates}
    for ranks in args.ranks:
        value, dim = picked[ranks]
        job = os.path.join(out, "jobs", f"ranks_{ranks:04d}.toml")
        with open(job, "w") as f:
            f.write(texts[value])
        if args.submit:
            study["points"][str(ranks)] = {name: value, "dimension": dim, "states_per_rank": dim / ranks}
            study.setdefault("jobs", {})[str(ranks)] = submit_point(job, ranks, out, args.submit_options)
            continue
        path, wall = run_point(job, ranks, out, args.launcher)
        study["points"][str(ranks)] = {name: value, "dimension": dim, "states_per_rank": dim / ranks, "wall_s": wall}
        print(f"{ranks:>5} ranks: {name} = {value}, dimension {dim} ({dim / ranks:.3g} per rank), {wall:.1f} s",
              flush=True)
    if args.submit:
        return submitted(out, study)
    finish(out, study)


if __name__ == "__main__":
    main()
