"""Full CI: fockmpi's direct-CI operator against PySCF's direct_spin1, side by side in one run.

    .venv/bin/python scaling/bench_fci.py [--runs 3] [--cases h2o,h14] [--ranks 2]

For each case PySCF writes the FCIDUMP (RHF orbitals, no point group: every determinant), then,
alternating, in fresh processes:

* PySCF (OMP_NUM_THREADS = ranks): ``fci.direct_spin1.FCI().kernel`` on the integrals of the
  file (its defaults: Davidson, conv_tol 1e-10) -- the whole solve -- and three sigma builds
  ``contract_2e`` on the solution (median), with the peak RSS of the process;
* fockmpi (``mpirun -n ranks fockmpi run``, one BLAS thread a rank): the same file, nev = 1,
  no multiplet check (PySCF does none), and PySCF's residual criterion: PySCF's Davidson stops
  at |r| < sqrt(conv_tol) = 1e-5 (with the energy change below 1e-10), fockmpi at
  |r| < tol |E|, so ``tol = 1e-5 / |E_RHF|`` (``--tol`` sets another): the solve phase,
  MatMult seconds / products from PETSc's log, the peak RSS per rank.

Cases: ``h2o`` = H2O/6-31G (13 orbitals, 10 electrons, 1 656 369 determinants), ``h2o_a1`` =
the same molecule with its C2v symmetry, the A1 determinants (414 441; PySCF's
``direct_spin1_symm``, fockmpi's default ISYM sector), ``h14`` = a
linear H14 chain in STO-3G at 1.8 bohr (14 orbitals, 14 electrons, 11 778 624 determinants;
PySCF's solve is skipped there, ``--pyscf-solve-h14`` runs it).  Medians over ``--runs``; the
JSON and a bar chart go to docs/benchmarks_chemistry.{json,png}.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PY = os.path.join(ROOT, ".venv", "bin", "python")
FOCKMPI = os.path.join(ROOT, ".venv", "bin", "fockmpi")

MOLECULES = {
    "h2o": dict(atom="O 0 0 0.1173; H 0 0.7572 -0.4692; H 0 -0.7572 -0.4692", basis="6-31g", unit="angstrom",
                label="H2O/6-31G (10e, 13o)"),
    "h2o_a1": dict(atom="O 0 0 0.1173; H 0 0.7572 -0.4692; H 0 -0.7572 -0.4692", basis="6-31g", unit="angstrom",
                   symmetry=True, label="H2O/6-31G, A1 of C2v"),
    "h14": dict(atom="; ".join(f"H 0 0 {1.8 * i}" for i in range(14)), basis="sto-3g", unit="bohr",
                label="H14/STO-3G (14e, 14o)"),
}

WRITE = """
import sys, json
from fockmpi.runtime import import_h5py; import_h5py()
from pyscf import gto, scf
from pyscf.tools import fcidump
spec = json.loads(sys.argv[1])
symmetry = spec.get("symmetry", False)
mol = gto.M(atom=spec["atom"], basis=spec["basis"], unit=spec["unit"], symmetry=symmetry, verbose=0)
mf = scf.RHF(mol).run()
fcidump.from_scf(mf, sys.argv[2], molpro_orbsym=symmetry)  # ORBSYM in Molpro's numbering, ISYM = 1
print(json.dumps({"norb": mol.nao, "nelec": mol.nelectron, "e_rhf": mf.e_tot}))
"""

PYSCF = """
import sys, json, time, resource, statistics
import numpy as np
from pyscf import fci
from pyscf.tools import fcidump
symmetric = sys.argv[3] == "1"
d = fcidump.read(sys.argv[1], molpro_orbsym=symmetric)
norb, nelec, ecore = d["NORB"], d["NELEC"], d["ECORE"]
h1, eri = d["H1"], d["H2"]
nel = (nelec // 2, nelec // 2)
out = {}
# with ORBSYM: direct_spin1_symm in the totally symmetric irrep (what fockmpi's default ISYM = 1 is)
solver = fci.direct_spin1_symm.FCI() if symmetric else fci.direct_spin1.FCI()
sym = dict(orbsym=np.asarray(d["ORBSYM"]), wfnsym=0) if symmetric else {}
if sys.argv[2] == "solve":
    t = time.perf_counter()
    e, c = solver.kernel(h1, eri, norb, nel, ecore=ecore, **sym)
    out["solve_s"] = time.perf_counter() - t
    out["energy"] = float(e)
else:
    import numpy as np
    from pyscf.fci import cistring
    na = cistring.num_strings(norb, nel[0])
    c = np.random.default_rng(1).standard_normal((na, na))
    c /= np.linalg.norm(c)
h2 = solver.absorb_h1e(h1, eri, norb, nel, 0.5)
times = []
for _ in range(3):
    t = time.perf_counter()
    solver.contract_2e(h2, c, norb, nel, **sym)
    times.append(time.perf_counter() - t)
out["sigma_s"] = statistics.median(times)
out["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(out))
"""

JOB = """[model]
type = "fcidump"
file = "{file}"
[solver]
nev = 1
complete_multiplets = false
tol = {tol}
[output]
path = "{out}"
"""


def environment(threads):
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads),
               PYTHONPATH=ROOT, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               OMPI_MCA_rmaps_base_oversubscribe="1")
    return env


def pyscf(path, mode, threads, symmetric=False):
    out = subprocess.run([PY, "-c", "from fockmpi.runtime import import_h5py; import_h5py()\n" + PYSCF, path, mode,
                          "1" if symmetric else "0"],
                         env=environment(threads), capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def fockmpi_run(path, workdir, ranks, tol):
    job = os.path.join(workdir, "job.toml")
    result = os.path.join(workdir, "result.h5")
    with open(job, "w") as f:
        f.write(JOB.format(file=path, out=result, tol=tol))
    t = time.perf_counter()
    subprocess.run(["mpirun", "-n", str(ranks), FOCKMPI, "run", job, "--force", "-q"], env=environment(1),
                   check=True, capture_output=True, text=True)
    wall = time.perf_counter() - t
    import h5py
    with h5py.File(result, "r") as f:
        solver = f["solver"].attrs
        solve = float(f["timings/solve"].attrs["max"])
        peak = f["memory/peak_rss_bytes"][...]
        energy = float(f["eigenvalues"][0])
        matvecs = int(solver["matvecs"])
        return {"solve_s": solve, "wall_s": wall, "matvecs": matvecs,
                "matmult_s": float(solver["matmult_seconds"]) / max(1, matvecs),
                "energy": energy, "peak_rss_mib_per_rank": [float(x) / 2 ** 20 for x in peak]}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--cases", default="h2o,h14")
    ap.add_argument("--ranks", type=int, default=2)
    ap.add_argument("--pyscf-solve-h14", action="store_true")
    ap.add_argument("--tol", type=float, default=None, help="fockmpi's tol (default 1e-5 / |E_RHF|, PySCF's)")
    ap.add_argument("--out", default=os.path.join(ROOT, "docs", "benchmarks_chemistry.json"))
    args = ap.parse_args()
    report = {"ranks": args.ranks, "runs": args.runs, "cases": {}}
    with tempfile.TemporaryDirectory() as tmp:
        for case in args.cases.split(","):
            spec = MOLECULES[case]
            path = os.path.join(tmp, f"{case}.fcidump")
            info = json.loads(subprocess.run([PY, "-c", WRITE, json.dumps(spec), path], env=environment(1),
                                             capture_output=True, text=True, check=True).stdout.splitlines()[-1])
            tol = args.tol or 1e-5 / abs(info["e_rhf"])
            info["fockmpi_tol"] = tol
            ours, theirs = [], []
            for k in range(args.runs):
                mode = "solve" if case != "h14" or args.pyscf_solve_h14 else "sigma"
                theirs.append(pyscf(path, mode, args.ranks, spec.get("symmetry", False)))
                ours.append(fockmpi_run(path, tmp, args.ranks, tol))
                print(f"{case} run {k + 1}: PySCF {theirs[-1]}  fockmpi {ours[-1]}", flush=True)
            med = {side: {key: statistics.median(r[key] for r in runs) for key in runs[0]
                          if isinstance(runs[0][key], (int, float))}
                   for side, runs in (("pyscf", theirs), ("fockmpi", ours))}
            med["fockmpi"]["peak_rss_mib_per_rank"] = max(max(r["peak_rss_mib_per_rank"]) for r in ours)
            med["info"] = dict(info, label=spec["label"])
            med["runs"] = {"pyscf": theirs, "fockmpi": ours}
            report["cases"][case] = med
            print(json.dumps({k: v for k, v in med.items() if k != "runs"}, indent=1), flush=True)
    with open(args.out, "w") as f:
        json.dump(report, f, indent=1)
    plot(report, args.out.replace(".json", ".png"))


def plot(report, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    cases = list(report["cases"])
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6))
    for ax, key, title in ((axes[0], "solve_s", "whole solve [s]"), (axes[1], None, "one sigma / MatMult [s]")):
        for i, case in enumerate(cases):
            c = report["cases"][case]
            ours = c["fockmpi"]["solve_s"] if key else c["fockmpi"]["matmult_s"]
            theirs = c["pyscf"].get("solve_s") if key else c["pyscf"]["sigma_s"]
            ax.bar(i - 0.2, ours, 0.4, color="tab:blue", label="fockmpi (2 ranks)" if i == 0 else None)
            if theirs is not None:
                ax.bar(i + 0.2, theirs, 0.4, color="tab:orange", label="PySCF (2 threads)" if i == 0 else None)
        ax.set_xticks(range(len(cases)), [report["cases"][c]["info"]["label"] for c in cases], fontsize=8)
        ax.set_title(title)
        ax.legend(fontsize=8)
    fig.suptitle(f"Full CI, medians of {report['runs']} runs, one 2-core machine", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


if __name__ == "__main__":
    sys.exit(main())
