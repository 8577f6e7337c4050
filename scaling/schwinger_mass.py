"""The massless Schwinger model's vector boson mass M/g from exact spectra, extrapolated to the
continuum, against 1/sqrt(pi) = 0.5642 (the showcase of docs/schwinger.md).

For each x = 1/(g a)^2 and even N the gauge-eliminated open chain (fockmpi.models.schwinger_spins,
mu = 0, theta = 0, sector Sz = 0) gives W0 and W1; M/g = (W1 - W0) / (2 sqrt(x)).  At each x the
values are extrapolated in N with M(N) = M_inf + a/N + b/N^2 over the largest N, and the M_inf(x)
to x -> infinity with M_inf(x) = M + c/sqrt(x) + d/x.

    python scaling/schwinger_mass.py [--N 8 10 ... 20] [--x 1 4 9 16] [--out docs/schwinger_mass]

Writes OUT.json (every energy) and OUT.png (needs matplotlib: `make bench`).
"""
import argparse
import json
import math
import sys
import time

import numpy as np


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--N", type=int, nargs="+", default=[8, 10, 12, 14, 16, 18, 20])
    ap.add_argument("--x", type=float, nargs="+", default=[1.0, 4.0, 9.0, 16.0])
    ap.add_argument("--out", default="docs/schwinger_mass")
    args = ap.parse_args()
    import fockmpi
    from fockmpi.models.gauge import schwinger_spins
    rt = fockmpi.Runtime.start("real")
    rows = []
    for x in args.x:
        for N in args.N:
            t0 = time.perf_counter()
            found = fockmpi.solve(schwinger_spins(N, x, 0.0), {"Sz": 0}, nev=2, quiet=True, runtime=rt, tol=1e-12)
            W0, W1 = (float(e) for e in found.eigenvalues[:2])
            rows.append({"x": x, "N": N, "dim": int(found.basis.dim), "W0": W0, "W1": W1,
                         "M_over_g": (W1 - W0) / (2 * math.sqrt(x)), "seconds": time.perf_counter() - t0})
            if rt.comm.rank == 0:
                print(f"x {x:6.2f} N {N:3d} dim {found.basis.dim:9d}  M/g {rows[-1]['M_over_g']:.6f}  "
                      f"({rows[-1]['seconds']:.1f} s)", file=sys.stderr, flush=True)
    if rt.comm.rank != 0:
        return
    limits = []
    for x in args.x:
        sub = sorted((r for r in rows if r["x"] == x), key=lambda r: r["N"])[-4:]
        inv = np.array([1.0 / r["N"] for r in sub])
        M = np.array([r["M_over_g"] for r in sub])
        coef = np.polyfit(inv, M, 2)
        limits.append((x, float(coef[-1])))
    xs = np.array([x for x, _ in limits])
    Ms = np.array([m for _, m in limits])
    design = np.c_[np.ones_like(xs), 1 / np.sqrt(xs), 1 / xs][:, :min(3, len(xs))]
    fit = np.linalg.lstsq(design, Ms, rcond=None)[0]
    continuum = float(fit[0])
    exact = 1 / math.sqrt(math.pi)
    print(f"continuum M/g = {continuum:.4f} (1/sqrt(pi) = {exact:.4f}, {100 * (continuum / exact - 1):+.1f}%)")
    for x, m in limits:
        print(f"  x = {x:g}: M/g(N -> inf) = {m:.4f}")
    with open(args.out + ".json", "w") as f:
        json.dump({"rows": rows, "limits": limits, "continuum": continuum, "exact": exact}, f, indent=1)
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("(matplotlib missing: no plot; `make bench` installs it)")
        return
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4))
    for x in args.x:
        sub = sorted((r for r in rows if r["x"] == x), key=lambda r: r["N"])
        a.plot([1 / r["N"] for r in sub], [r["M_over_g"] for r in sub], "o-", label=f"x = {x:g}")
    a.set_xlabel("1/N")
    a.set_ylabel("M/g = (W1 - W0) / 2 sqrt(x)")
    a.legend()
    a.set_title("finite chains (open, eliminated fields)")
    b.plot(1 / np.sqrt(xs), Ms, "o", label="N -> infinity at each x")
    t = np.linspace(0, max(1 / np.sqrt(xs)) * 1.05, 50)
    b.plot(t, sum(c * t ** k for k, c in enumerate(fit)), "-", label=f"fit: M/g = {continuum:.4f}")
    b.axhline(exact, color="k", ls="--", label="1/sqrt(pi) = 0.5642")
    b.set_xlabel("1/sqrt(x) = g a")
    b.legend()
    b.set_title("continuum limit")
    fig.tight_layout()
    fig.savefig(args.out + ".png", dpi=120)


if __name__ == "__main__":
    main()
