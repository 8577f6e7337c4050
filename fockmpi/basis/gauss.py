"""Gauss's law enumerated: the physical states of a 1D lattice gauge theory, generated from the matter configurations.

A staggered fermion on every site n = 0 .. N-1 and a link (electric field E_n) between sites n
and n+1.  Gauss's law at site n,

    E_n - E_{n-1} = q_n + Q_n,      q_n = c+_n c_n - (n mod 2),

with Q_n a static charge, fixes every field from the matter: E_n = E_{-1} + sum_{k<=n} (q_k + Q_k).
With open boundaries E_{-1} is the boundary field (default 0); with periodic ones E_{-1} = E_{N-1}
is one free value (and the total charge must vanish).  So the physical basis is enumerated
from the fermion configurations (ranked, each rank its own block) and, on a ring, the free
field: no state of the product space that violates Gauss's law is ever generated, and its
dimension is that of the matter sector times at most 2 Lambda + 1, not (2 Lambda + 1)^links
times it.  Configurations whose fields leave a link's range (|E| > Lambda) are dropped.

Layout (what :func:`fockmpi.models.gauge.schwinger` builds): the fermions are sites 0 .. N-1
(one bit each, the lowest bits of the packed state), link n is site N + n; a link is a
``link`` site (E = v - Lambda) or, for quantum links, a spin-S site (E = S^z = v - S).
"""
import numpy as np

from ..errors import SectorError
from ..models.gauge import link_field2
from ..parallel import Progress, block_offsets
from .ranking import RankingTables
from .sector import Sector
from .symmetric import SymmetricBasis


class GaussLawBasis(SymmetricBasis):
    """The physical states of ``gauss`` in ``sector`` (which may fix the fermion number N),
    generated from the matter configurations and sorted across ranks.  Collective on ``comm``.

    Implements the basis protocol like every sorted-list basis (the trivial symmetry group, all
    norms 1); operators assembled on it are H restricted to the physical subspace, and the
    caller checks that H commutes with Gauss's law (:func:`fockmpi.operator.compile.check_gauss_law`).
    """

    def __init__(self, sector, gauss, comm, show_progress=False):
        from ..symmetry.group import SymmetryGroup
        space = sector.space
        N = gauss.nsites
        if space.nsites != N + gauss.nlinks or any(s.kind != "fermion" for s in space.sites[:N]):
            raise SectorError(f"Gauss's law on {N} sites needs {N} fermion sites followed by {gauss.nlinks} links; "
                              f"the space has {space.describe()}")
        self.sector, self.space, self.gauss = sector, space, gauss
        self.group = SymmetryGroup(space.nsites, [], None, space)
        self.group_args = self.group.kernel_args(space)
        self.constraint, self.constraint_name = None, gauss.label()
        matter = _matter_sector(sector, N)
        tables = RankingTables(matter)
        self.u1_dim = tables.dim
        links = space.sites[N:]
        field_lo = np.array([link_field2(s, 0) for s in links])
        field_hi = np.array([link_field2(s, s.dim - 1) for s in links])
        shifts = np.array([int(o) for o in space.offsets[N:]], dtype=np.uint64)
        if gauss.periodic:
            seeds = np.arange(field_lo.min(), field_hi.max() + 1, 2)  # 2 E_{N-1}
        else:
            seeds = np.array([round(2 * gauss.boundary_field)])
        step = 2 * (np.arange(N) % 2) - 2 * gauss.charges()          # 2 q_n = 2 n_n - step_n
        off = block_offsets(self.u1_dim, comm.size)
        lo, hi = int(off[comm.rank]), int(off[comm.rank + 1])
        progress = Progress(comm, "basis (Gauss law)", hi - lo, enabled=show_progress)
        found = []
        for a in range(lo, hi, self.SCAN_CHUNK):
            matter_states = tables.states(a, min(self.SCAN_CHUNK, hi - a))
            occ = ((matter_states[:, None] >> np.arange(N, dtype=np.uint64)) & np.uint64(1)).astype(np.int64)
            cum2 = np.cumsum(2 * occ - step, axis=1)                 # 2 sum_{k<=n} (q_k + Q_k)
            if gauss.periodic:
                neutral = cum2[:, -1] == 0
                matter_states, cum2 = matter_states[neutral], cum2[neutral]
            for e2 in seeds:
                fields2 = e2 + cum2[:, :gauss.nlinks]
                ok = np.all((fields2 >= field_lo) & (fields2 <= field_hi) & ((fields2 - field_lo) % 2 == 0), axis=1)
                v = ((fields2[ok] - field_lo) // 2).astype(np.uint64)
                packed = matter_states[ok]
                if len(links):
                    packed = packed | np.bitwise_or.reduce(v << shifts, axis=1)
                found.append(packed)
            progress.update(min(hi, a + self.SCAN_CHUNK) - lo)
        states = np.concatenate(found) if found else np.zeros(0, dtype=np.uint64)
        self._distribute(comm, states, np.ones(len(states)), sort=True,
                         empty=f"no state of {sector.label()} satisfies Gauss's law ({gauss.label()}) with these "
                               "link cutoffs")

    def _defining(self):
        return super()._defining() + [self.gauss]


def _matter_sector(sector, N):
    """The sector's fermion charges on the matter sites alone."""
    from ..models.space import Space
    matter = Space.uniform("fermion", N)
    unknown = set(sector.values) - {"N"}
    if unknown:
        raise SectorError(f"a Gauss-law basis fixes the fermion number N only, not {', '.join(sorted(unknown))}")
    return Sector(matter, dict(sector.values))
