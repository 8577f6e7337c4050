"""The massless Schwinger model's vector boson mass M/g from exact spectra on rings, extrapolated
to the continuum, against 1/sqrt(pi) = 0.5642 (the showcase of docs/schwinger.md).

Every point is one solve of the ring with one explicit link (fockmpi.models.schwinger_ring,
theta = 0, the neutral sector, zero-mode cutoff Lambda): M/g = (W1 - W0) / (2 sqrt(x)) with
x = 1/(g a)^2.  Two lattice masses reach the massless continuum theory: mu = 0 (the classic
choice, O(a) = O(1/sqrt(x)) corrections) and mu = -1/4, i.e. m = -g^2 a / 8 (Dempsey, Klebanov,
Pufu, Zan, arXiv:2206.05308, which removes the O(a) term).  The extrapolations, fixed before the
data (docs/schwinger.md says why):

* N -> infinity at each x: M(N) = M_x + c/N^2 over the four largest N (on a circle the continuum
  mass does not depend on the circumference; what is left are lattice effects in a/L = 1/N);
  the spread against the fit over the three largest N is quoted as its uncertainty.
* x -> infinity: M_x = M + b/sqrt(x) + c/x over every x, for each lattice mass.

    mpirun -n 2 python scaling/schwinger_mass.py [--N 10 12 ... 20] [--x 4 9 ... 100]
        [--mu 0 -0.25] [--Lambda 3] [--out docs/schwinger_mass]

Writes OUT.json (every energy, every fit) and OUT.png (needs matplotlib: `make bench`).
"""
import argparse
import json
import math
import sys
import time

import numpy as np

EXACT = 1 / math.sqrt(math.pi)


def box_limit(rows, npoints):
    """M_x and c of M(N) = M_x + c/N^2 over the ``npoints`` largest N of ``rows``."""
    sub = sorted(rows, key=lambda r: r["N"])[-npoints:]
    design = np.c_[np.ones(len(sub)), [1.0 / r["N"] ** 2 for r in sub]]
    return np.linalg.lstsq(design, [r["M_over_g"] for r in sub], rcond=None)[0]


def continuum_fit(xs, Ms):
    """(M, b, c) of M_x = M + b/sqrt(x) + c/x."""
    xs = np.asarray(xs, dtype=float)
    design = np.c_[np.ones_like(xs), 1 / np.sqrt(xs), 1 / xs]
    return np.linalg.lstsq(design, np.asarray(Ms), rcond=None)[0]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--N", type=int, nargs="+", default=[10, 12, 14, 16, 18, 20])
    ap.add_argument("--x", type=float, nargs="+", default=[4.0, 9.0, 16.0, 25.0, 36.0, 64.0, 100.0])
    ap.add_argument("--mu", type=float, nargs="+", default=[0.0, -0.25])
    ap.add_argument("--Lambda", type=int, default=3)
    ap.add_argument("--out", default="docs/schwinger_mass")
    ap.add_argument("--replot", action="store_true", help="no solves: fit and plot the energies of OUT.json again")
    args = ap.parse_args()
    if args.replot:
        with open(args.out + ".json") as f:
            saved = json.load(f)
        args.N = sorted({r["N"] for r in saved["rows"]})
        args.x = sorted({r["x"] for r in saved["rows"]})
        args.mu = sorted({r["mu"] for r in saved["rows"]}, reverse=True)
        args.Lambda = saved["rows"][0]["Lambda"]
        return report(args, saved["rows"], saved["cutoff_check"], saved["ranks"])
    import fockmpi
    from fockmpi.models.gauge import schwinger_ring
    rt = fockmpi.Runtime.start("real")
    say = (lambda text: print(text, file=sys.stderr, flush=True)) if rt.comm.rank == 0 else (lambda text: None)

    def point(mu, x, N, Lambda):
        t0 = time.perf_counter()
        model = schwinger_ring(N, x, mu, Lambda=Lambda)
        found = fockmpi.solve(model, model.default_sector, nev=2, quiet=True, runtime=rt, tol=1e-12)
        W0, W1 = (float(e) for e in found.eigenvalues[:2])
        row = {"mu": mu, "x": x, "N": N, "Lambda": Lambda, "dim": int(found.basis.dim), "W0": W0, "W1": W1,
               "M_over_g": (W1 - W0) / (2 * math.sqrt(x)), "seconds": time.perf_counter() - t0}
        say(f"mu {mu:+.2f} x {x:6.1f} N {N:3d} Lambda {Lambda} dim {row['dim']:8d}  M/g {row['M_over_g']:.6f}  "
            f"({row['seconds']:.1f} s)")
        return row

    rows = [point(mu, x, N, args.Lambda) for mu in args.mu for x in args.x for N in args.N]
    # the zero mode's cutoff: the largest box and x once more with Lambda + 1
    cutoff = [point(mu, max(args.x), max(args.N), args.Lambda + 1) for mu in args.mu]
    if rt.comm.rank == 0:
        report(args, rows, cutoff, rt.comm.size)


def report(args, rows, cutoff, ranks):
    """Fit, print, and write OUT.json and OUT.png.  Rank 0 only."""
    fits = {}
    for mu in args.mu:
        limits = []
        for x in args.x:
            sub = [r for r in rows if r["mu"] == mu and r["x"] == x]
            four, three = box_limit(sub, 4), box_limit(sub, 3)
            limits.append({"x": x, "M_x": float(four[0]), "c": float(four[1]),
                           "uncertainty": float(abs(four[0] - three[0]))})
        M, b, c = (float(v) for v in continuum_fit([l["x"] for l in limits], [l["M_x"] for l in limits]))
        spread = max(l["uncertainty"] for l in limits)
        shifted = continuum_fit([l["x"] for l in limits], [l["M_x"] + l["uncertainty"] for l in limits])[0]
        fits[mu] = {"limits": limits, "M": M, "b": b, "c": c, "from_box_spread": float(abs(shifted - M)),
                    "deviation": M / EXACT - 1}
        print(f"mu = {mu:+.2f}: continuum M/g = {M:.5f} ({100 * (M / EXACT - 1):+.2f}% against 1/sqrt(pi) = "
              f"{EXACT:.5f}); b = {b:+.4f}, c = {c:+.4f}; N -> inf spread up to {spread:.1e}")
        for l in limits:
            print(f"    x = {l['x']:6.1f}: M_x = {l['M_x']:.5f} +- {l['uncertainty']:.1e}  (c/N^2: c = {l['c']:+.3f})")
    for r in cutoff:
        base = next(q for q in rows if q["mu"] == r["mu"] and q["x"] == r["x"] and q["N"] == r["N"])
        print(f"cutoff: mu {r['mu']:+.2f} x {r['x']:g} N {r['N']}: M/g changes by {r['M_over_g'] - base['M_over_g']:+.1e} "
              f"from Lambda = {args.Lambda} to {args.Lambda + 1}")
    with open(args.out + ".json", "w") as f:
        json.dump({"rows": rows, "cutoff_check": cutoff, "fits": {str(k): v for k, v in fits.items()},
                   "exact": EXACT, "ranks": ranks}, f, indent=1)
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("(matplotlib missing: no plot; `make bench` installs it)")
        return
    fig, axes = plt.subplots(2, 2, figsize=(12, 8.5))
    for ax, mu in zip(axes[0], args.mu):
        for l in fits[mu]["limits"]:
            sub = sorted((r for r in rows if r["mu"] == mu and r["x"] == l["x"]), key=lambda r: r["N"])
            t = np.array([1 / r["N"] ** 2 for r in sub])
            line, = ax.plot(t, [r["M_over_g"] for r in sub], "o", ms=4, label=f"x = {l['x']:g}")
            grid = np.linspace(0, t.max(), 20)
            ax.plot(grid, l["M_x"] + l["c"] * grid, "-", lw=0.8, color=line.get_color())
        ax.axhline(EXACT, color="k", ls="--", lw=0.8)
        ax.set_xlabel("1/N^2")
        ax.set_ylabel("M/g = (W1 - W0) / 2 sqrt(x)")
        ax.set_title(f"rings of N = {min(args.N)} .. {max(args.N)} sites, lattice mass mu = {mu:g}")
        ax.legend(fontsize=7, ncol=2, loc="best")
    ax, zoom = axes[1]
    for mu in args.mu:
        f = fits[mu]
        xs = np.array([l["x"] for l in f["limits"]])
        Mx = np.array([l["M_x"] for l in f["limits"]])
        err = np.array([l["uncertainty"] for l in f["limits"]])
        t = np.linspace(0, 1 / np.sqrt(xs.min()) * 1.05, 60)
        curve = f["M"] + f["b"] * t + f["c"] * t * t
        label = f"mu = {mu:g}: M + b g a + c (g a)^2, M = {f['M']:.5f} ({100 * f['deviation']:+.2f}%)"
        panels = ((ax, 1.0, 0.0),) + (((zoom, 100 / EXACT, -100.0),) if mu == -0.25 else ())
        for a, scale, offset in panels:
            line = a.errorbar(1 / np.sqrt(xs), Mx * scale + offset, yerr=err * scale, fmt="o", ms=4,
                              label=f"mu = {mu:g}: N -> inf at each x")[0]
            a.plot(t, curve * scale + offset, "-", color=line.get_color(), label=label)
    ax.axhline(EXACT, color="k", ls="--", label="1/sqrt(pi) = 0.56419")
    ax.set_ylabel("M/g")
    ax.set_title("continuum limit")
    zoom.axhline(0, color="k", ls="--")
    zoom.set_ylim(-0.6, 0.2)
    zoom.set_ylabel("M/g against 1/sqrt(pi) - 1  [%]")
    zoom.set_title("the same, zoomed: mu = -1/4 (m = -g^2 a / 8)")
    for a in (ax, zoom):
        a.set_xlabel("1/sqrt(x) = g a")
        a.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(args.out + ".png", dpi=120)
    print(f"wrote {args.out}.json and {args.out}.png")


if __name__ == "__main__":
    main()
