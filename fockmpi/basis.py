"""U(1) symmetry sectors and their bases, split across MPI ranks.

The basis of a sector is the ascending list of all packed states (see :mod:`fockmpi.space`)
whose charges take the fixed values.  Nobody stores that list whole: every rank

1. builds the same small *ranking tables* (a dynamic program over the bits of the state,
   cut into chunks of at most 16 bits aligned to sites), which give the exact dimension and
   the global index of any state in O(number of chunks);
2. enumerates only its own contiguous block ``[start, end)`` of indices by unranking
   (one unranking per change of the high chunks, then a table walk).

So a state owned by another rank is looked up locally, with no message at all, and memory per
rank is ``8 * dim / ranks`` bytes for the states plus tables of a few MB.

How the tables work: with chunk 0 the lowest bits and ``R`` the vector of charges still to be
distributed over chunks ``0..c``, let ``W_c(R)`` be the number of valid fillings of chunks
``0..c-1`` with charge ``R``.  Then ``T[c, R, x] = sum_{valid y < x} W_c(R - q(y))`` and the
index of a state is ``sum_c T[c, R_c, x_c]`` walking from the highest chunk down.
Charge vectors are flattened with strides so that subtracting a chunk's charge is one integer
subtraction.
"""

import numpy as np

from . import kernels
from .errors import CapacityError, SectorError
from .parallel import block_offsets
from .space import CHARGE_SCALE

MAX_CHUNK_BITS = 12
TABLE_BUDGET_BYTES = 4 * 2 ** 20  # per chunk: small tables stay in cache (measured: 12-bit
# chunks rank a state in ~7 ns, 16-bit chunks in ~12 ns on a 24-site chain)
MAX_DIMENSION = 2 ** 62


class Sector:
    """Fixed values of U(1) charges, e.g. ``Sector(space, {"Sz": 0})``.  Not collective.

    Parameters
    ----------
    space : Space
    charges : dict
        Charge name -> value in physical units (``Sz`` may be half-integer).  For electrons
        any consistent subset of ``N``, ``N_up``, ``N_dn``, ``Sz`` is accepted and reduced to
        independent charges.  An empty dict means the whole space.
    """

    def __init__(self, space, charges=None):
        self.space = space
        self.values = dict(charges or {})
        self.internal = {}
        for name, value in self.values.items():
            table = space.charge_table(name)  # raises for unknown names
            del table
            scaled = value * CHARGE_SCALE.get(name, 1)
            if abs(scaled - round(scaled)) > 1e-9:
                unit = "half-integer or integer" if name == "Sz" else "integer"
                raise SectorError(f"[sector] {name} = {value}: expected an {unit} value")
            self.internal[name] = int(round(scaled))  # noqa: RUF046 - numpy scalars round to floats
        self._reduce_electrons()
        self._check_ranges()

    def _reduce_electrons(self):
        """N, N_up, N_dn, Sz of electrons are not independent: keep an independent subset."""
        q = self.internal
        if not {"N_up", "N_dn", "N", "Sz"} & set(q) or "N_up" not in self.space.charge_names():
            return
        up, dn = q.get("N_up"), q.get("N_dn")
        if up is None and dn is not None and "N" in q:
            up = q["N"] - dn
        if dn is None and up is not None and "N" in q:
            dn = q["N"] - up
        if up is None and dn is not None and "Sz" in q:
            up = q["Sz"] + dn
        if dn is None and up is not None and "Sz" in q:
            dn = up - q["Sz"]
        if up is None and dn is None and "N" in q and "Sz" in q:
            if (q["N"] + q["Sz"]) % 2:
                raise SectorError(f"[sector] N = {self.values['N']} and Sz = {self.values['Sz']} are "
                                  "incompatible: 2 Sz must have the parity of N")
            up, dn = (q["N"] + q["Sz"]) // 2, (q["N"] - q["Sz"]) // 2
        if up is None or dn is None:
            return
        for name, value in (("N", up + dn), ("Sz", up - dn)):
            if name in q and q[name] != value:
                raise SectorError(f"[sector] values {self.values} contradict each other "
                                  f"({name} would have to be {value / CHARGE_SCALE[name]:g})")
        self.internal = {"N_up": up, "N_dn": dn}

    def _check_ranges(self):
        space = self.space
        nsites = space.nsites
        for name, value in self.internal.items():
            table = space.charge_table(name)
            lo = sum(int(table[i, :s.dim].min()) for i, s in enumerate(space.sites))
            hi = sum(int(table[i, :s.dim].max()) for i, s in enumerate(space.sites))
            scale = CHARGE_SCALE.get(name, 1)
            if not lo <= value <= hi:
                raise SectorError(f"[sector] {name} = {value / scale:g} is impossible: on {nsites} "
                                  f"{'/'.join(space.kinds)} sites {name} ranges from {lo / scale:g} "
                                  f"to {hi / scale:g}")
            if name == "Sz" and space.kinds == ["spin"] and (value - nsites) % 2:
                raise SectorError(f"[sector] Sz = {value / 2:g} is impossible on {nsites} spin-1/2 sites: "
                                  f"Sz must be {'half-integer' if nsites % 2 else 'integer'} "
                                  f"(e.g. Sz = {0.5 if nsites % 2 else 0})")

    @property
    def names(self):
        return sorted(self.internal)

    def label(self):
        """Human-readable label such as ``Sz=0`` or ``N_up=6,N_dn=6``."""
        if not self.internal:
            return "full space"
        return ",".join(f"{k}={v / CHARGE_SCALE.get(k, 1):g}" for k, v in sorted(self.internal.items()))

    def physical_values(self):
        """The independent charges in physical units, ``{name: value}``."""
        return {k: v / CHARGE_SCALE.get(k, 1) for k, v in sorted(self.internal.items())}


class RankingTables:
    """The tables that rank and unrank the states of one sector.  Not collective.

    Attributes
    ----------
    dim : int
        Exact dimension of the sector (Python int).
    """

    def __init__(self, sector):
        space = sector.space
        names = sector.names
        tables = [space.charge_table(n) for n in names]
        dims = space.dims
        lo = [min(0, sum(int(t[i, :d].min()) for i, d in enumerate(dims))) for t in tables]
        hi = [max(0, sum(int(t[i, :d].max()) for i, d in enumerate(dims))) for t in tables]
        shape = tuple(h - l + 1 for l, h in zip(lo, hi)) or (1,)
        strides = np.cumprod((1,) + shape[:-1]).astype(np.int64)
        nR = int(np.prod(shape))
        self.shape, self.nR = shape, nR

        max_bits = int(np.clip(np.log2(TABLE_BUDGET_BYTES / (8.0 * nR)), 1, MAX_CHUNK_BITS))
        chunks = []  # lists of sites
        for i, s in enumerate(space.sites):
            if chunks and sum(space.sites[j].nbits for j in chunks[-1]) + s.nbits <= max_bits:
                chunks[-1].append(i)
            else:
                chunks.append([i])
        m = len(chunks)
        bits = [sum(space.sites[j].nbits for j in ch) for ch in chunks]
        xmax = 1 << max(bits)
        self.chunk_off = np.array([space.offsets[ch[0]] for ch in chunks], dtype=np.int64)
        self.chunk_mask = np.array([(1 << b) - 1 for b in bits], dtype=np.uint64)
        self.chunk_q = np.full((m, xmax), kernels.INVALID, dtype=np.int64)
        chunk_qvec = []  # per chunk: (valid mask, charge vectors [X, K])
        for c, ch in enumerate(chunks):
            x = np.arange(1 << bits[c], dtype=np.int64)
            valid = np.ones(len(x), dtype=bool)
            qvec = np.zeros((len(x), len(names)), dtype=np.int64)
            for i in ch:
                v = (x >> int(space.offsets[i] - self.chunk_off[c])) & ((1 << space.sites[i].nbits) - 1)
                valid &= v < dims[i]
                vv = np.minimum(v, dims[i] - 1)
                for k, t in enumerate(tables):
                    qvec[:, k] += t[i, vv]
            self.chunk_q[c, :len(x)] = np.where(valid, qvec @ strides[:len(names)] if names else 0,
                                                kernels.INVALID)
            chunk_qvec.append((valid, qvec))

        zero = tuple(-l for l in lo) or (0,)
        W = np.zeros(shape, dtype=object)
        W[zero] = 1
        T = np.zeros((m, nR, xmax + 1), dtype=np.int64)
        for c in range(m):
            valid, qvec = chunk_qvec[c]
            distinct, inverse = np.unique(qvec[valid], axis=0, return_inverse=True)
            inverse = np.asarray(inverse).reshape(-1)
            shifted = [_shift(W, tuple(u)) for u in distinct]
            counts = np.bincount(inverse, minlength=len(distinct))
            W_next = sum((int(n) * s for n, s in zip(counts, shifted)), np.zeros(shape, dtype=object))
            top = max(int(W_next.max()), 1)
            if top >= MAX_DIMENSION:
                raise CapacityError("the sector has more than 2^62 states; fix more charges in [sector]")
            flat_shifted = np.array([s.reshape(-1, order="F") for s in shifted], dtype=np.int64)
            G = np.zeros((len(valid), nR), dtype=np.int64)
            G[np.flatnonzero(valid)] = flat_shifted[inverse] if len(distinct) else 0
            X = len(valid)
            T[c, :, 1:X + 1] = np.cumsum(G, axis=0).T
            T[c, :, X + 1:] = np.iinfo(np.int64).max
            W = W_next
        self.T = T
        target = tuple(sector.internal[n] - l for n, l in zip(names, lo)) or (0,)
        self.r_top = int(np.dot(np.array(target), strides[:len(target)]))
        self.r_zero = int(np.dot(np.array(zero), strides[:len(zero)]))
        self.dim = int(W[target])

        # chunk-0 values grouped by flattened charge, for fast enumeration
        q0 = self.chunk_q[0, :1 << bits[0]]
        ok = np.flatnonzero(q0 != kernels.INVALID)
        r_of = self.r_zero + q0[ok]
        order = np.lexsort((ok, r_of))
        self.low_vals = ok[order].astype(np.int64)
        self.low_ptr = np.concatenate([[0], np.cumsum(np.bincount(r_of, minlength=nR))]).astype(np.int64)

    def args(self):
        """Arguments of the ranking kernels, as :class:`fockmpi.kernels.Ranking`."""
        return kernels.Ranking(self.chunk_off, self.chunk_mask, self.chunk_q, self.T, np.int64(self.r_top),
                               np.int64(self.r_zero))

    def rank(self, states):
        """Global index of each state (-1 outside the sector)."""
        return kernels.rank_states(np.ascontiguousarray(states, dtype=np.uint64), *self.args())

    def states(self, start, count):
        """States of global indices ``start .. start+count-1`` (ascending)."""
        if count <= 0:
            return np.zeros(0, dtype=np.uint64)
        return kernels.enumerate_states(np.int64(start), np.int64(count), self.chunk_off, self.chunk_q,
                                        self.T, np.int64(self.r_top), self.low_ptr, self.low_vals)


def _shift(W, u):
    """``out[R] = W[R - u]`` with zeros shifted in (object arrays, any dimension)."""
    out = np.zeros_like(W)
    src, dst = [], []
    for n, k in zip(W.shape, u):
        if abs(k) >= n:
            return out
        src.append(slice(0, n - k) if k >= 0 else slice(-k, n))
        dst.append(slice(k, n) if k >= 0 else slice(0, n + k))
    out[tuple(dst)] = W[tuple(src)]
    return out


def sector_dimension(sector):
    """Exact dimension of a sector (Python int), from the ranking tables.  Not collective."""
    return RankingTables(sector).dim


class Basis:
    """What every basis of fockmpi offers (U(1) ranked, symmetric representatives, constrained;
    the product and Gauss-law bases still to come implement the same).

    The global basis is an ordered list of ``dim`` states; rank p holds the contiguous block
    ``offsets[p] .. offsets[p+1]``, row ``i`` of every distributed matrix and vector.

    Attributes
    ----------
    dim : int                 global dimension
    offsets : ndarray         block boundaries (length ranks + 1)
    start, end : int          this rank's block
    states : ndarray uint64   this rank's states, in the basis' own order and bit layout
    norms : ndarray or None   per state: the stabilizer order of a representative (the basis
                              vector is ``P|state>`` normalized); None when every basis vector
                              is the Fock state itself
    """

    norms = None

    @property
    def local_size(self):
        return self.end - self.start

    def owner_of(self, indices):
        """Rank owning each global index.  Not collective."""
        return np.searchsorted(self.offsets, np.asarray(indices), side="right") - 1

    def packed_states(self):
        """This rank's states in the packed layout of :mod:`fockmpi.space` (what results
        files store).  Not collective."""
        return self.states

    def index_of(self, states, comm=None):
        """Global index of each state (-1: not in this basis).  Collective on ``comm`` for
        bases whose states are spread over ranks (every rank calls it, with its own states)."""
        raise NotImplementedError

    def fingerprint(self):
        """A hex digest of what defines the basis (space, charges, symmetry sector, constraint,
        dimension): equal fingerprints mean the same basis in the same order, whatever the
        number of ranks (for checkpoints).  Not collective."""
        import hashlib
        h = hashlib.sha256()
        for part in self._defining():
            h.update(repr(part).encode())
            h.update(b"\x00")
        return h.hexdigest()[:32]

    def _defining(self):
        space = self.sector.space
        return [type(self).__name__, [(x.kind, x.nmax) for x in space.sites], sorted(self.sector.internal.items()),
                int(self.dim)]


class U1Basis(Basis):
    """The basis of a U(1) sector, each rank holding its contiguous block of states.

    Parameters
    ----------
    sector : Sector
    rank, size : int
        This process's rank and the number of ranks the basis is split over (from a
        communicator: ``comm.rank, comm.size``).  Not collective: no messages are needed.

    Attributes
    ----------
    dim : int          global dimension
    offsets : ndarray  block boundaries, rank p owns ``[offsets[p], offsets[p+1])``
    start, end : int   this rank's block
    states : ndarray   this rank's states (uint64, ascending)
    """

    def __init__(self, sector, rank=0, size=1):
        self.sector = sector
        self.space = sector.space
        self.tables = RankingTables(sector)
        self.dim = self.tables.dim
        if self.dim == 0:
            raise SectorError(f"the sector {sector.label()} is empty for this lattice")
        self.rank, self.size = rank, size
        self.offsets = block_offsets(self.dim, size)
        self.start, self.end = int(self.offsets[rank]), int(self.offsets[rank + 1])
        self.states = self.tables.states(self.start, self.end - self.start)

    def index_of(self, states, comm=None):
        """Global index of each state (-1 if not in the sector).  Not collective: any rank
        ranks any state from its own tables (``comm`` is accepted for the protocol)."""
        return self.tables.rank(states)

    def lookup_args(self):
        """Arguments of the kernel ranking used during assembly."""
        return self.tables.args()


class SymmetricBasis(Basis):
    """Representatives of a lattice-symmetry sector inside a U(1) sector, split across ranks.

    Collective on ``comm``.  Every rank scans only its own block of the U(1) sector (unranked
    in chunks, never stored whole) and keeps the states that are the smallest of their orbit
    and survive the irrep (:func:`fockmpi.kernels.find_representatives`).  The
    representatives are then moved (one all-to-all) so that every rank holds a balanced
    contiguous block of the globally ascending list; the global index of a representative
    is its position in that list.

    ``constraint`` (optional) keeps only the states for which it is true: a vectorized
    function of an array of packed states (uint64) returning a boolean array, e.g. "no two
    neighbouring spins up".  The basis then spans the constrained subspace, and an operator
    assembled on it is ``P H P`` with ``P`` the projector onto that subspace.  With a symmetry
    group the constraint must hold on whole orbits (checked on the representatives' images);
    see :func:`constrained_basis` for the constraint alone.

    Attributes
    ----------
    dim : int                  number of representatives (the sector's dimension)
    states, norms : ndarray    this rank's representatives, ascending in the sort layout of
                               the group (:meth:`packed_states` gives them packed as in
                               :mod:`fockmpi.space`), and their stabilizer orders
    start, end : int           this rank's block of global indices
    u1_dim : int               dimension of the U(1) sector
    """

    SCAN_CHUNK = 1 << 18

    def __init__(self, sector, group, comm, show_progress=False, constraint=None, constraint_name=None):
        self.sector = sector
        self.space = sector.space
        self.group = group
        self.constraint = constraint
        self.constraint_name = constraint_name or getattr(constraint, "__name__", None)
        tables = RankingTables(sector)
        self.u1_dim = tables.dim
        if self.u1_dim == 0:
            raise SectorError(f"the sector {sector.label()} is empty for this lattice")
        self.group_args = group.kernel_args(self.space)
        layout = self.group_args.layout
        u1_off = block_offsets(self.u1_dim, comm.size)
        lo, hi = int(u1_off[comm.rank]), int(u1_off[comm.rank + 1])
        from .parallel import Progress
        progress = Progress(comm, "basis (orbit scan)", hi - lo, enabled=show_progress)
        reps, norms = [], []
        for a in range(lo, hi, self.SCAN_CHUNK):
            st = tables.states(a, min(self.SCAN_CHUNK, hi - a))
            if len(layout):
                kernels.relayout(st, layout, 0, st)
            keep = np.empty(len(st), dtype=np.bool_)
            nr = np.empty(len(st), dtype=np.float64)
            kernels.find_representatives(st, *self.group_args, keep, nr)
            if constraint is not None:
                keep &= self._allowed(st if not len(layout) else _packed(st, layout))
            reps.append(st[keep])
            norms.append(nr[keep])
            progress.update(min(hi, a + self.SCAN_CHUNK) - lo)
        reps = np.concatenate(reps) if reps else np.zeros(0, dtype=np.uint64)
        norms = np.concatenate(norms) if norms else np.zeros(0)
        counts = np.array(comm.allgather(len(reps)), dtype=np.int64)
        self.dim = int(counts.sum())
        if self.dim == 0:
            raise SectorError(f"the sector {sector.label()}, {group.label()} is empty (no state of this "
                              "U(1) sector has that symmetry)")
        if len(layout):  # the scan followed the packed order: sort by the sort layout
            reps, norms = _sample_sort(comm, reps, norms)
            counts = np.array(comm.allgather(len(reps)), dtype=np.int64)
        self.rank, self.size, self.comm = comm.rank, comm.size, comm
        self.offsets = block_offsets(self.dim, comm.size)
        self.states, self.norms = _rebalance(comm, counts, self.offsets, reps, norms)
        self.start, self.end = int(self.offsets[comm.rank]), int(self.offsets[comm.rank + 1])
        if constraint is not None and group.order > 1:
            self._check_constraint_on_orbits(comm)
        first = self.states[0] if len(self.states) else np.uint64(0xFFFFFFFFFFFFFFFF)
        bounds = np.array(comm.allgather(first), dtype=np.uint64)
        for p in range(comm.size - 2, -1, -1):  # an empty rank takes its successor's bound
            if self.offsets[p] == self.offsets[p + 1]:
                bounds[p] = bounds[p + 1]
        self.bounds = bounds

    def _allowed(self, packed):
        """The constraint on packed states, checked to give one boolean per state."""
        from .errors import ConfigError
        ok = np.asarray(self.constraint(packed))
        if ok.shape != packed.shape or ok.dtype != np.bool_:
            raise ConfigError("constraint", f"a function of an array of {len(packed)} states that returns as "
                              "many booleans", f"an array of shape {ok.shape} and type {ok.dtype}")
        return ok

    def _check_constraint_on_orbits(self, comm, samples=32):
        """A constraint with symmetries must hold on every image of a representative (else the
        symmetrized vectors leave the constrained space): checked on a few representatives of
        every rank.  Collective."""
        from .errors import SectorError
        from .parallel import collective_errors
        with collective_errors(comm):
            reps = self.states[np.linspace(0, len(self.states) - 1, min(samples, len(self.states))).astype(np.int64)] \
                if len(self.states) else np.zeros(0, dtype=np.uint64)
            if len(self.group_args.layout):
                reps = _packed(reps, self.group_args.layout)
            images = np.array([self.group._act(e, int(r))[0] for r in reps for e in self.group.elements],
                              dtype=np.uint64)
            if len(images) and not np.all(self._allowed(images)):
                raise SectorError(f"the constraint {self.constraint_name or ''} does not hold on whole orbits of "
                                  f"the symmetry group ({self.group.label()}): a symmetry maps an allowed state to "
                                  "a forbidden one; use a symmetric constraint or no symmetry")

    def _defining(self):
        gens = [(g.name, g.permutation, g.spin_flip, g.particle_hole, complex(g.character))
                for g in self.group.generators]
        return super()._defining() + [gens, self.constraint_name]

    def packed_states(self):
        """This rank's representatives in the packed layout of :mod:`fockmpi.space` (``states``
        holds them in the sort layout of :meth:`fockmpi.symmetry.SymmetryGroup.kernel_args`)."""
        out = np.empty_like(self.states)
        kernels.relayout(self.states, self.group_args.layout, 1, out)
        return out

    def _hash(self):
        """Hash table of this rank's representatives (built once, :func:`hash_table`)."""
        if getattr(self, "_table", None) is None:
            self._table = hash_table(self.states)
        return self._table

    def index_of(self, states, comm=None):
        """Global index of each representative state (-1 if it is not one).  Collective.

        The states are grouped by owning rank (from the first representative of every rank),
        sent in one all-to-all, looked up by the owner, and the answers sent back in another.
        """
        from mpi4py import MPI
        comm = self.comm if comm is None else comm
        states = np.ascontiguousarray(states, dtype=np.uint64)
        keys, vals, shift = self._hash()
        if comm.size == 1:
            out = np.empty(len(states), dtype=np.int64)
            kernels.hash_lookup(states, keys, vals, shift, np.int64(self.start), out)
            return out
        scounts = np.zeros(comm.size, dtype=np.int64)
        order = np.empty(len(states), dtype=np.int64)
        kernels.bucket_by_owner(states, self.bounds, scounts, order)
        rcounts = np.array(comm.alltoall([int(c) for c in scounts]), dtype=np.int64)
        sdispl = np.concatenate([[0], np.cumsum(scounts)[:-1]])
        rdispl = np.concatenate([[0], np.cumsum(rcounts)[:-1]])
        asked = np.empty(int(rcounts.sum()), dtype=np.uint64)
        comm.Alltoallv([states[order], (scounts, sdispl), MPI.UINT64_T], [asked, (rcounts, rdispl), MPI.UINT64_T])
        answer = np.empty(len(asked), dtype=np.int64)
        kernels.hash_lookup(asked, keys, vals, shift, np.int64(self.start), answer)
        del asked
        back = np.empty(len(states), dtype=np.int64)
        comm.Alltoallv([answer, (rcounts, rdispl), MPI.INT64_T], [back, (scounts, sdispl), MPI.INT64_T])
        out = np.empty(len(states), dtype=np.int64)
        out[order] = back
        return out


def hash_table(keys):
    """Open-addressing table ``keys[i] -> i`` for :func:`fockmpi.kernels.hash_lookup`:
    (keys, slots, shift), 1.4-2.9 slots of 16 bytes per key, so at most 70% full: a lookup
    costs about one cache miss instead of a binary search."""
    bits = max(4, int(-(-10 * max(1, len(keys)) // 7) - 1).bit_length())
    table_keys = np.zeros(1 << bits, dtype=np.uint64)
    table_vals = np.full(1 << bits, -1, dtype=np.int64)
    kernels.hash_build(np.ascontiguousarray(keys, dtype=np.uint64), table_keys, table_vals, np.int64(64 - bits))
    return table_keys, table_vals, np.int64(64 - bits)


def _packed(states, layout):
    """``states`` (sort layout) in the packed layout."""
    out = np.empty_like(states)
    kernels.relayout(states, layout, 1, out)
    return out


def constrained_basis(sector, constraint, comm, name=None, show_progress=False):
    """The states of a U(1) sector for which ``constraint`` is true, split across ranks.
    Collective on ``comm``.

    ``constraint`` takes an array of packed states (uint64, :mod:`fockmpi.space`) and returns
    a boolean array; it is applied to each rank's block of the sector in chunks, so it must be
    vectorized (numpy or a numba ufunc), never a loop over states.  ``name`` says what it is
    (for labels and the fingerprint).  An operator assembled on this basis is ``P H P``: terms
    that would leave the constrained subspace are dropped, as in the PXP model of Rydberg
    atoms.  A :class:`SymmetricBasis` with the trivial group underneath.
    """
    from .symmetry import SymmetryGroup
    group = SymmetryGroup(sector.space.nsites, [], None, sector.space)
    return SymmetricBasis(sector, group, comm, show_progress, constraint=constraint, constraint_name=name)


def _sample_sort(comm, states, norms, samples_per_rank=64):
    """Move ``states`` (with their ``norms``) between ranks so that every rank's states are
    ascending and come before the next rank's (counts only roughly equal; :func:`_rebalance`
    evens them out).  Collective."""
    order = np.argsort(states)
    states, norms = states[order], norms[order]
    if comm.size == 1:
        return states, norms
    picks = states[np.linspace(0, len(states) - 1, min(len(states), samples_per_rank)).astype(np.int64)]
    pool = np.sort(np.concatenate(comm.allgather(picks)))
    splitters = pool[(np.arange(1, comm.size) * len(pool)) // comm.size]
    cut = np.concatenate([[0], np.searchsorted(states, splitters), [len(states)]])
    states, norms = _exchange(comm, states, norms, cut)
    order = np.argsort(states)
    return states[order], norms[order]


def _rebalance(comm, counts, offsets, states, norms):
    """Move a globally ascending distributed list so that rank p holds ``offsets[p]:offsets[p+1]``."""
    mine = int(counts[:comm.rank].sum())
    # destination ranges of my items [mine, mine + n)
    return _exchange(comm, states, norms, np.clip(offsets - mine, 0, len(states)))


def _exchange(comm, states, norms, cut):
    """Send ``states[cut[p]:cut[p+1]]`` (and the same norms) to rank p; returns what this rank
    receives, in rank order.  Collective."""
    from mpi4py import MPI
    cut = np.asarray(cut, dtype=np.int64)
    scounts, sdispl = np.diff(cut), cut[:-1]
    rcounts = np.array(comm.alltoall([int(c) for c in scounts]), dtype=np.int64)
    rdispl = np.concatenate([[0], np.cumsum(rcounts)[:-1]])
    total = int(rcounts.sum())
    out_s = np.empty(total, dtype=np.uint64)
    out_n = np.empty(total, dtype=np.float64)
    comm.Alltoallv([states, (scounts, sdispl), MPI.UINT64_T], [out_s, (rcounts, rdispl), MPI.UINT64_T])
    comm.Alltoallv([norms, (scounts, sdispl), MPI.DOUBLE], [out_n, (rcounts, rdispl), MPI.DOUBLE])
    return out_s, out_n
