"""Figures of docs/physics.md from the results files of the example jobs, with the analytic
curves they are compared with drawn over them.

    python scaling/physics_figures.py dsf results/heisenberg_ring28_dsf.h5 docs/physics_dsf_ring28.png
    python scaling/physics_figures.py spectral results/hubbard_ring14_spectral.h5 docs/physics_hubbard_akw.png
    python scaling/physics_figures.py string results/schwinger_string_breaking.h5 docs/physics_string_breaking.png
    python scaling/physics_figures.py revival results/jaynes_cummings_revival.h5 docs/physics_jc_revival.png

dsf: S(q, omega) of the Heisenberg ring with the two-spinon continuum's bounds, the des
Cloizeaux-Pearson dispersion (pi/2)|sin q| below and pi|sin(q/2)| above (Mueller et al. 1981).
spectral: A(k, omega) of the Hubbard ring with the U = 0 band -2t cos k, for comparison: a
spinon branch (width set by the exchange J ~ 4t^2/U) and holon branches (width ~ 4t) leave the
same point k_F = pi/2 of the Fermi surface (spin-charge separation).
string: the electric field of the Schwinger-model quench against link and time, with the charge-free
quench (results/schwinger_string_breaking_vacuum.h5, beside the file) subtracted: what the static
charges and their string add.
revival: the Jaynes-Cummings inversion against the exact sum over photon numbers,
W(t) = sum_n P_n cos(2 g sqrt(n + 1) t) with P_n Poisson of mean |alpha|^2.
"""
import sys

import numpy as np

sys.path.insert(0, ".")
from fockmpi.io.results import read_results  # noqa: E402


def _mesh(ax, S, omega, q, cmap="magma"):
    import matplotlib
    dq = q[1] - q[0]
    x = np.concatenate([q - dq / 2, [q[-1] + dq / 2]])
    dw = omega[1] - omega[0]
    y = np.concatenate([omega - dw / 2, [omega[-1] + dw / 2]])
    return ax.pcolormesh(x / np.pi, y, np.clip(S.T, 0, None), cmap=cmap, shading="flat",
                         norm=matplotlib.colors.PowerNorm(0.5, vmin=0))


def _finish(fig, ax, mesh, title, quantity, out):
    ax.set_title(title)
    ax.legend(loc="upper right", fontsize=8, framealpha=0.6)
    fig.colorbar(mesh, ax=ax, label=f"{quantity} (square-root scale)", pad=0.01)
    fig.tight_layout()
    fig.savefig(out, dpi=120)


def _by_momentum(rec):
    """S and q in [0, 2 pi], with q = 2 pi drawn again as q = 0 (a closed Brillouin zone)."""
    q = np.asarray(rec["q"])[:, 0]
    order = np.argsort(q)
    S, q = np.asarray(rec["S"])[order], q[order]
    return np.vstack([S, S[:1]]), np.concatenate([q, [2 * np.pi]])


def dsf(path, out):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    r = read_results(path)
    rec = r["spectra"]["Szz"]
    S, q = _by_momentum(rec)
    omega = np.asarray(rec["omega"])
    fig, ax = plt.subplots(figsize=(7, 4.6))
    mesh = _mesh(ax, S, omega, q)
    fine = np.linspace(0, 2 * np.pi, 400)
    ax.plot(fine / np.pi, np.pi / 2 * np.abs(np.sin(fine)), "c--", lw=1.2, label="(pi/2)|sin q| (des Cloizeaux-Pearson)")
    ax.plot(fine / np.pi, np.pi * np.abs(np.sin(fine / 2)), "w:", lw=1.4, label="pi |sin(q/2)|")
    ax.set_xlim(-1 / (len(q) - 1), 2 + 1 / (len(q) - 1))
    ax.set_ylim(omega[0], omega[-1])
    ax.set_xlabel("q / pi")
    ax.set_ylabel("omega / J")
    _finish(fig, ax, mesh, f"S^zz(q, omega), Heisenberg ring L = {len(q) - 1}, broadening "
            f"{float(rec['broadening']):g} J", "S(q, omega)", out)
    inside = _inside_continuum(rec)
    print(f"{out}: {100 * inside:.1f}% of the spectral weight (q != 0) lies within 0.1 J of the two-spinon continuum")


def _inside_continuum(rec):
    """Fraction of the weight of sum_q S(q, omega) between the continuum's bounds (+- 0.1 J), from
    the Lanczos poles (the broadening removed: the Ritz values and their weights)."""
    from numpy.linalg import eigh
    part = rec["positive"]
    inside = total = 0.0
    for k, q in enumerate(np.asarray(rec["q"])[:, 0]):
        n = int(part["steps"][k])
        if n == 0:
            continue
        a, b = part["a"][k, :n], part["b"][k, 1:n]
        T = np.diag(a) + np.diag(b, 1) + np.diag(b, -1)
        w, v = eigh(T)
        weights = part["weight"][k] * np.abs(v[0]) ** 2
        omega = w - rec["energy0"]
        lo, hi = np.pi / 2 * abs(np.sin(q)), np.pi * abs(np.sin(q / 2))
        inside += weights[(omega >= lo - 0.1) & (omega <= hi + 0.1)].sum()
        total += weights.sum()
    return inside / total


def spectral(path, out, t=1.0):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    r = read_results(path)
    name = next(iter(r["spectra"]))
    rec = r["spectra"][name]
    S, q = _by_momentum(rec)
    omega = np.asarray(rec["omega"])
    fig, ax = plt.subplots(figsize=(7, 5.2))
    mesh = _mesh(ax, S, omega, q, cmap="viridis")
    fine = np.linspace(0, 2 * np.pi, 400)
    ax.plot(fine / np.pi, -2 * t * np.cos(fine), "w--", lw=1, label="U = 0 band -2t cos k")
    ax.axhline(0, color="0.8", lw=0.6)
    ax.set_xlabel("k / pi")
    ax.set_ylabel("omega / t")
    _finish(fig, ax, mesh, f"A(k, omega) of the Hubbard ring, L = {len(q) - 1}, half filling, broadening "
            f"{float(rec['broadening']):g} t", "A(k, omega)", out)
    print(f"{out}: weights (addition + removal) per k: "
          + " ".join(f"{w:.4f}" for w in np.asarray(rec["positive"]["weight"]) + np.asarray(rec["negative"]["weight"])))


def string(path, out):
    import os
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    ev = read_results(path)["evolution"]
    vac = read_results(os.path.splitext(path)[0] + "_vacuum.h5")["evolution"]
    t = np.asarray(ev["times"])
    E, E0 = np.asarray(ev["observables"]["E"]), np.asarray(vac["observables"]["E"])
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    dt = t[1] - t[0]
    mesh = axes[0].pcolormesh(np.arange(E.shape[1] + 1) - 0.5, np.concatenate([t - dt / 2, [t[-1] + dt / 2]]), E - E0,
                              cmap="RdBu_r", vmin=-1.1, vmax=1.1, shading="flat")
    fig.colorbar(mesh, ax=axes[0], label="<E_n>(t) - vacuum quench", pad=0.01)
    for n in (3.5, 10.5):
        axes[0].axvline(n, color="k", lw=0.6, ls=":")
    axes[0].set_xlabel("link n (static charges +1 at site 4, -1 at site 11)")
    axes[0].set_ylabel("t (units of 2 / (a g^2))")
    axes[0].set_title("the string's field after the quench")
    inner = slice(4, 11)
    axes[1].plot(t, E[:, inner].mean(axis=1), label="with the charges")
    axes[1].plot(t, E0[:, inner].mean(axis=1), label="vacuum quench")
    axes[1].plot(t, E[:, inner].mean(axis=1) - E0[:, inner].mean(axis=1), "k--", label="difference")
    axes[1].set_xlabel("t")
    axes[1].set_ylabel("mean field on the 7 links between the charges")
    axes[1].legend(fontsize=8)
    axes[1].axhline(0, color="0.7", lw=0.6)
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    diff = E[:, inner].mean(axis=1) - E0[:, inner].mean(axis=1)
    print(f"{out}: string field (charges minus vacuum) {diff[0]:.3f} at t = 0, {diff[len(t) // 2]:.3f} at t = "
          f"{t[len(t) // 2]:g}, mean {diff[len(t) // 2:].mean():.3f} over the second half")


def revival(path, out):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from math import lgamma
    ev = read_results(path)["evolution"]
    t = np.asarray(ev["times"])
    W = np.asarray(ev["observables"]["inversion"])
    nbar = float(read_results(path)["observables"]["photons"][0])
    n = np.arange(0, 200)
    P = np.exp(-nbar + n * np.log(nbar) - np.array([lgamma(k + 1) for k in n]))
    fine = np.linspace(t[0], t[-1], 4000)
    exact = (P[:, None] * np.cos(2 * np.sqrt(n + 1)[:, None] * fine[None, :])).sum(axis=0)
    exact_at = (P[:, None] * np.cos(2 * np.sqrt(n + 1)[:, None] * t[None, :])).sum(axis=0)
    fig, ax = plt.subplots(figsize=(9, 3.6))
    ax.plot(fine, exact, color="0.75", lw=2.5, label="sum_n P_n cos(2 g sqrt(n+1) t)")
    ax.plot(t, W, "C0-", lw=0.9, label="fockmpi, 2 <Sz>(t)")
    ax.axvline(2 * np.pi * np.sqrt(nbar), color="C3", ls=":", lw=1, label="t_r = 2 pi sqrt(n) / g")
    ax.set_xlabel("g t")
    ax.set_ylabel("inversion W(t)")
    ax.set_title(f"Jaynes-Cummings collapse and revival, <n> = {nbar:.4f}")
    ax.legend(fontsize=8, loc="upper right")
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    print(f"{out}: max |W - exact| = {np.abs(W - exact_at).max():.1e} over {len(t)} times (Poisson with the run's "
          f"<n> = {nbar:.6f})")


if __name__ == "__main__":
    {"dsf": dsf, "spectral": spectral, "string": string, "revival": revival}[sys.argv[1]](sys.argv[2], sys.argv[3])
