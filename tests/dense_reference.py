"""Independent dense many-body matrices for tests, built with Kronecker products.

Nothing here uses fockmpi: modes, Jordan-Wigner strings and boson matrices are written out
again from the convention in docs/conventions.md, so a sign error in fockmpi shows up as a
disagreement.  Index of a basis state: sum_i v_i * prod_{k<i} d_k (site 0 fastest).
"""
import numpy as np


def _kron_site(ops_by_site, dims):
    """Kronecker product with site 0 as the fastest index (rightmost factor)."""
    out = np.ones((1, 1))
    for i in range(len(dims)):
        out = np.kron(ops_by_site.get(i, np.eye(dims[i])), out)
    return out


def spin_matrices(S):
    """S+, S-, Sz of spin S in the basis m = -S .. S (index m + S), from
    <m+1|S+|m> = sqrt((S - m)(S + m + 1))."""
    m = np.arange(-S, S + 1)
    d = len(m)
    plus = np.zeros((d, d))
    for k in range(d - 1):
        plus[k + 1, k] = np.sqrt((S - m[k]) * (S + m[k] + 1))
    return plus, plus.T.copy(), np.diag(m)


def _dim(kind):
    if kind in ("spin", "fermion"):
        return 2
    if kind == "electron":
        return 4
    if kind[0] == "spin":
        return int(round(2 * kind[1])) + 1
    if kind[0] == "link":
        return 2 * kind[1] + 1
    return kind[1] + 1


class DenseSystem:
    """Full-space operators for a list of site kinds: 'spin' (1/2), ('spin', S), 'fermion',
    'electron', ('boson', nmax), ('link', Lambda)."""

    def __init__(self, kinds):
        self.kinds = kinds
        self.dims = [_dim(k) for k in kinds]
        self.dim = int(np.prod(self.dims))
        # fermionic modes in order: site-major, up before down
        self.modes = []
        for i, k in enumerate(kinds):
            if k == "fermion":
                self.modes.append((i, None))
            elif k == "electron":
                self.modes += [(i, "up"), (i, "dn")]

    def local_states(self):
        """v[k, i] for every basis index k."""
        idx = np.arange(self.dim)
        out = np.zeros((self.dim, len(self.dims)), dtype=int)
        for i, d in enumerate(self.dims):
            out[:, i] = idx % d
            idx = idx // d
        return out

    def _mode_occupation_diag(self, mode):
        site, spin = mode
        v = self.local_states()[:, site]
        if spin is None:
            return v.astype(float)
        return ((v >> (0 if spin == "up" else 1)) & 1).astype(float)

    def c(self, site, spin=None):
        """Annihilator of a fermionic mode: JW string over all earlier modes."""
        m = self.modes.index((site, spin))
        string = np.ones(self.dim)
        for earlier in self.modes[:m]:
            string *= 1 - 2 * self._mode_occupation_diag(earlier)
        v = self.local_states()
        bit = 1 if spin in (None, "up") else 2
        stride = int(np.prod(self.dims[:site]))
        out = np.zeros((self.dim, self.dim))
        occ = (v[:, site] & bit) > 0
        cols = np.flatnonzero(occ)
        out[cols - bit * stride, cols] = string[cols]
        return out

    def cdag(self, site, spin=None):
        return self.c(site, spin).T

    def n(self, site, spin=None):
        return np.diag(self._mode_occupation_diag((site, spin)))

    def b(self, site):
        nmax = self.kinds[site][1]
        local = np.diag(np.sqrt(np.arange(1, nmax + 1.0)), 1)
        return _kron_site({site: local}, self.dims)

    def bdag(self, site):
        return self.b(site).T

    def spin(self, site, which):
        kind = self.kinds[site]
        if isinstance(kind, tuple) and kind[0] == "spin":
            plus, minus, z = spin_matrices(kind[1])
            m = {"+": plus, "-": minus, "z": z, "x": (plus + minus) / 2, "y": (plus - minus) / 2j}[which]
            return _kron_site({site: m}, self.dims)
        m = {"+": np.array([[0, 0], [1, 0.]]), "-": np.array([[0, 1], [0, 0.]]),
             "z": np.diag([-0.5, 0.5]), "x": np.array([[0, .5], [.5, 0]]),
             "y": np.array([[0, .5j], [-.5j, 0]])}[which]  # local basis (down=0, up=1)
        return _kron_site({site: m}, self.dims)

    def link(self, site, which):
        """A gauge link ('link', Lambda): "U" raises the field E = -Lambda .. Lambda by one, "E" is E."""
        lam = self.kinds[site][1]
        d = 2 * lam + 1
        m = np.diag(np.ones(d - 1), -1) if which == "U" else np.diag(np.arange(-lam, lam + 1.0))
        return _kron_site({site: m}, self.dims)

    def charges(self):
        """Dict of per-basis-state charges: N (fermions, or bosons where there are no
        fermions), N_up, N_dn, Sz (spins and electrons), N_b (bosons), N_exc (bosons and
        S^z + S of spins)."""
        v = self.local_states()
        out = {name: np.zeros(self.dim) for name in ("N", "N_up", "N_dn", "Sz", "N_b", "N_exc")}
        fermions = any(k in ("fermion", "electron") for k in self.kinds)
        for i, k in enumerate(self.kinds):
            if k == "spin" or (isinstance(k, tuple) and k[0] == "spin"):
                S = 0.5 if k == "spin" else k[1]
                out["Sz"] += v[:, i] - S
                out["N_exc"] += v[:, i]
            elif k == "fermion":
                out["N"] += v[:, i]
            elif k == "electron":
                up, dn = v[:, i] & 1, v[:, i] >> 1
                out["N"] += up + dn
                out["N_up"] += up
                out["N_dn"] += dn
                out["Sz"] += 0.5 * (up - dn)
            elif k[0] == "link":
                pass
            else:
                out["N_b"] += v[:, i]
                out["N_exc"] += v[:, i]
                if not fermions:
                    out["N"] += v[:, i]
        return out

    def sector_eigvals(self, H, **charges):
        q = self.charges()
        mask = np.ones(self.dim, dtype=bool)
        for name, value in charges.items():
            mask &= np.isclose(q[name], value)
        sub = H[np.ix_(mask, mask)]
        return np.linalg.eigvalsh(sub)


def hubbard_ring(n):
    """The parts of the Hubbard ring on ``n`` sites as sparse matrices of the full space:
    ``(system, c, hop, double)`` with ``c[(i, s)]`` the annihilators, ``hop`` =
    -sum_<ij>,s (c+_is c_js + h.c.) (periodic) and ``double`` = sum_i n_i,up n_i,dn, so that
    H = t hop + U double."""
    from scipy import sparse
    D = DenseSystem(["electron"] * n)
    c = {(i, s): sparse.csr_matrix(D.c(i, s)) for i in range(n) for s in ("up", "dn")}
    hop = sum(-(c[i, s].T @ c[(i + 1) % n, s] + c[(i + 1) % n, s].T @ c[i, s]) for i in range(n) for s in ("up", "dn"))
    double = sum((c[i, "up"].T @ c[i, "up"]) @ (c[i, "dn"].T @ c[i, "dn"]) for i in range(n))
    return D, c, hop.tocsr(), double.tocsr()
