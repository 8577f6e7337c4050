"""From a symbolic :class:`~fockmpi.models.ops.Operator` on a :class:`~fockmpi.models.space.Space` to the flat
arrays the compiled kernels apply to packed basis states, plus the checks that must pass first
(factors fit their sites, charges conserved, hermiticity, real or complex scalars).

How a product of factors becomes numbers
----------------------------------------
1. The factors of a term are sorted by site (stable, so same-site factors keep their order);
   every exchange of two fermion-odd factors on different sites flips the sign.
2. Same-site factors are multiplied into one local matrix ``M[new, old]`` (exact product of the
   truncated matrices: for bosons with a cutoff, ``b b^dag`` is *not* rewritten as
   ``b^dag b + 1``).  Odd local matrices carry the Jordan-Wigner string over lower sites,
   which the kernel evaluates on the state.
3. Each local matrix is split into *monomial parts* with one non-zero per column, and a term
   into the products of parts: a monomial maps a basis state to at most one basis state.

The checks use a finer, canonical expansion into matrix units ``E[new, old]`` per site, for
which the hermitian conjugate of a product is again one product.
"""
import itertools

import numpy as np

from ..errors import HermiticityError, OperatorError, SectorError
from ..models.matrix_units import local_factors, matrix_units_of
from ..models.ops import format_coefficient, format_term


class CompiledOperator:
    """Flat arrays of the monomials of an operator on a space.  Not collective.

    Attributes
    ----------
    coef : ndarray (nmono,) float64 or complex128
    nsites : ndarray (nmono,) int64
        Number of sites each monomial acts on (0 for a constant).
    sites : ndarray (nmono, kmax) int64
    target : ndarray (nmono, kmax, dmax) int64
        New local state for each old one, -1 where the monomial gives zero.
    amp : ndarray (nmono, kmax, dmax) float64
    odd : ndarray (nmono, kmax) bool
        Fermion-odd local part: multiply by the parity of fermions on lower sites.
    ndiag : int
        Monomials ``0..ndiag-1`` are diagonal, the rest are not.
    bit_masks : ndarray (nbit, 4) uint64
        Monomials in *bitwise form* (all spin-1/2, fermion and electron terms): columns are
        condition mask, condition value, flip mask and sign mask; see :meth:`_bitwise_form`.
        These are applied by a few integer operations instead of table look-ups.
    bit_coef : ndarray (nbit,)
    nbdiag : int
        Bitwise monomials ``0..nbdiag-1`` are diagonal.
    grp_ptr, grp_mask, grp_scan, ngdiag
        The bitwise monomials indexed by the bits they need (:func:`_index_by_condition`,
        :class:`fockmpi.kernels.Terms`); the first ``ngdiag`` groups are diagonal.
    is_real : bool
    """

    def __init__(self, space, monomials, is_real):
        self.space = space
        self.is_real = is_real
        self.site_offsets = space.offsets.astype(np.int64)
        self.site_masks = np.array([(1 << s.nbits) - 1 for s in space.sites], dtype=np.uint64)
        self.fermion_mask = space.fermion_mask
        bitwise, generic = [], []
        for m in monomials:
            form = self._bitwise_form(m)
            (bitwise if form is not None else generic).append(form if form is not None else m)
        # --- bitwise monomials: condition, flip and sign masks, diagonal ones first, grouped
        # by condition mask and sorted by condition value (the index the row kernels search)
        bitwise.sort(key=lambda f: (f[2] != 0, f[0], f[1], f[2], f[3]))
        self.nbdiag = sum(1 for f in bitwise if f[2] == 0)
        self.bit_masks = np.array([f[:4] for f in bitwise], dtype=np.uint64).reshape(-1, 4)
        self.bit_coef = np.array([f[4] for f in bitwise], dtype=np.complex128)
        self.grp_ptr, self.grp_mask, self.grp_scan, self.ngdiag = _index_by_condition(bitwise, self.nbdiag)
        # --- generic monomials (diagonal ones first)
        generic.sort(key=lambda m: not m[3])
        self.ndiag = sum(1 for m in generic if m[3])
        n = len(generic)
        kmax = max([len(m[1]) for m in generic] + [1])
        dmax = int(space.dims.max())
        self.coef = np.array([complex(m[0]) for m in generic], dtype=np.complex128)
        if is_real:
            self.coef = self.coef.real.copy()
            self.bit_coef = self.bit_coef.real.copy()
        self.nsites = np.array([len(m[1]) for m in generic], dtype=np.int64)
        self.sites = np.zeros((n, kmax), dtype=np.int64)
        self.target = -np.ones((n, kmax, dmax), dtype=np.int64)
        self.amp = np.zeros((n, kmax, dmax), dtype=np.float64)
        self.odd = np.zeros((n, kmax), dtype=np.bool_)
        for a, (_, parts, _, _) in enumerate(generic):
            for k, (site, tgt, amp, odd) in enumerate(parts):
                self.sites[a, k] = site
                self.target[a, k, :len(tgt)] = tgt
                self.amp[a, k, :len(amp)] = amp
                self.odd[a, k] = odd

    def _bitwise_form(self, monomial):
        """``(cond_mask, cond_value, flip_mask, sign_mask, coef)`` if the monomial maps s to
        ``s ^ flip`` when ``s & cond_mask == cond_value``, with amplitude
        ``coef * (-1)^popcount(s & sign_mask)`` (spins, fermions, electrons); else ``None``."""
        coef, parts, _, _ = monomial
        cm = cv = fm = pm = 0
        coef = complex(coef)
        for site, tgt, amp, odd in parts:
            local = _bitwise_local(tgt, amp, self.space.sites[site].nbits)
            if local is None:
                return None
            lcm, lcv, lfm, lpm, factor = local
            off = int(self.site_offsets[site])
            cm |= lcm << off
            cv |= lcv << off
            fm |= lfm << off
            pm ^= lpm << off
            if odd:
                pm ^= int(self.fermion_mask) & ((1 << off) - 1)
            coef *= factor
        return cm, cv, fm, pm, coef

    @property
    def dtype(self):
        return self.coef.dtype

    def max_row_length(self):
        """Upper bound of the non-zeros in a row: off-diagonal monomials plus the diagonal."""
        return (len(self.bit_coef) - self.nbdiag) + (len(self.coef) - self.ndiag) + 1

    @property
    def nmonomials(self):
        return len(self.coef) + len(self.bit_coef)

    def terms(self, dtype=None):
        """The monomials as :class:`fockmpi.kernels.Terms`, what the row kernels take.

        ``dtype`` casts the coefficients (e.g. real H on a complex PETSc build).
        """
        from ..kernels import Terms
        dtype = self.dtype if dtype is None else np.dtype(dtype)
        return Terms(self.bit_masks, self.bit_coef.astype(dtype), self.bit_masks[:, 1].copy(), self.grp_ptr, self.grp_mask, self.grp_scan,
                     np.int64(self.ngdiag), self.coef.astype(dtype), self.nsites, self.sites, self.target,
                     self.amp, self.odd, np.int64(self.ndiag), self.site_offsets, self.site_masks,
                     np.uint64(self.fermion_mask))


def _index_by_condition(bitwise, nbdiag, scan_group=None):
    """Groups of the bitwise monomials (sorted: diagonal first, then by condition mask and
    value) for the row kernels: ``(grp_ptr, grp_mask, grp_scan, ngdiag)``.

    More than ``SCAN_GROUP`` monomials with one condition mask form a *search* group: a state
    meets only those whose condition value is ``s & mask``, found by a binary search, so a
    Hamiltonian with many monomials per mask (10^4 terms of a few masks) costs per row the
    number of groups plus the monomials that act.  Runs of smaller groups are merged into
    *scan* groups (``grp_scan``), where each monomial compares its own mask: for a Heisenberg
    or Hubbard model that is the plain loop over the monomials, with no overhead per group.
    """
    from ..kernels import SCAN_GROUP
    scan_group = SCAN_GROUP if scan_group is None else scan_group
    runs = []  # (start, end, off-diagonal, mask) of equal (off-diagonal, mask)
    for a, f in enumerate(bitwise):
        key = (a >= nbdiag, f[0])
        if runs and tuple(runs[-1][2:]) == key:
            runs[-1][1] = a + 1
        else:
            runs.append([a, a + 1, *key])
    ptr, mask, scan, ngdiag = [], [], [], 0
    for start, end, offdiag, m in runs:
        small = end - start <= scan_group
        if small and scan and scan[-1] and (ptr[-1][0] >= nbdiag) == offdiag:
            ptr[-1][1] = end  # extend the open scan group
            continue
        ptr.append([start, end])
        mask.append(m if not small else 0)
        scan.append(small)
        ngdiag += not offdiag
    return (np.array([p[0] for p in ptr] + [len(bitwise)], dtype=np.int64),
            np.array(mask, dtype=np.uint64), np.array(scan, dtype=np.bool_), ngdiag)


def _bitwise_local(tgt, amp, nbits):
    """Masks of a local monomial part if it acts by a bit flip with a parity sign, else None."""
    support = [v for v in range(len(tgt)) if tgt[v] >= 0 and amp[v] != 0]
    if not support:
        return None
    flips = {int(tgt[v]) ^ v for v in support}
    if len(flips) != 1:
        return None
    full = (1 << nbits) - 1
    agree = full
    for v in support:
        agree &= ~(v ^ support[0]) & full
    cv = support[0] & agree
    if set(support) != {v for v in range(len(tgt)) if v & agree == cv}:
        return None
    size = {abs(amp[v]) for v in support}
    if len(size) != 1:
        return None
    v0 = support[0]
    pm = 0
    for bit in range(nbits):
        w = v0 ^ (1 << bit)
        if not agree >> bit & 1 and w in support and np.sign(amp[w]) != np.sign(amp[v0]):
            pm |= 1 << bit
    for v in support:
        if np.sign(amp[v]) != np.sign(amp[v0]) * (-1) ** ((v ^ v0) & pm).bit_count():
            return None
    factor = abs(amp[v0]) * np.sign(amp[v0]) * (-1) ** (v0 & pm).bit_count()
    return agree, cv, flips.pop(), pm, factor


def _monomial_parts(m):
    """Split a local matrix into parts with at most one non-zero per column."""
    d = len(m)
    rows = [np.flatnonzero(m[:, v]) for v in range(d)]
    parts = []
    for r in range(max(len(x) for x in rows)):
        tgt = np.array([x[r] if r < len(x) else -1 for x in rows], dtype=np.int64)
        amp = np.array([m[tgt[v], v] if tgt[v] >= 0 else 0.0 for v in range(d)])
        parts.append((tgt, amp))
    return parts


def compile_operator(op, space, charges=(), check_hermitian=True, parities=()):
    """Check ``op`` on ``space`` and turn it into a :class:`CompiledOperator`.  Not collective.

    Parameters
    ----------
    op : Operator
    space : Space
    charges : sequence of str
        Charges that must be conserved (the declared U(1) sector); a term that changes one
        raises :class:`~fockmpi.errors.SectorError` naming the term.
    check_hermitian : bool
        Raise :class:`~fockmpi.errors.HermiticityError` naming a term without its partner.
    parities : sequence of str
        Charges whose parity ``exp(i pi Q)`` the sector fixes: a term that changes Q by an odd
        amount raises :class:`~fockmpi.errors.SectorError` (else the parity basis would
        silently drop it).
    """
    tables = {name: space.charge_table(name) for name in charges}
    parity_tables = {name: space.charge_table(name) for name in parities}
    monomials = {}
    units = {}
    unit_source = {}
    for factors, coef in op.terms.items():
        text = format_term(factors, coef)
        if not np.isfinite(complex(coef)):
            # a nan coupling would otherwise compare unequal to everything and vanish silently
            raise OperatorError(f"term {text!r}: the coefficient is not a finite number")
        res = local_factors(factors, coef, space, text)
        if res is None:
            continue
        c, local = res
        for name, table in tables.items():
            _check_charge(local, table, name, text, space)
        for name, table in parity_tables.items():
            _check_charge(local, table, name, text, space, modulus=2)
        for key, value in matrix_units_of(local).items():
            units[key] = units.get(key, 0) + c * value
            unit_source.setdefault(key, text)
        site_parts = [[(site, tgt, amp, odd) for tgt, amp in _monomial_parts(m)] for site, m, odd in local]
        for combo in itertools.product(*site_parts):
            key = tuple((p[0], p[1].tobytes(), p[2].tobytes(), p[3]) for p in combo)
            if key in monomials:
                monomials[key][0] += c
            else:
                diag = all(np.array_equal(p[1][p[2] != 0], np.flatnonzero(p[2] != 0)) for p in combo)
                monomials[key] = [c, combo, text, diag]
    scale = max([abs(v) for v in units.values()] + [1e-300])
    units = {k: v for k, v in units.items() if abs(v) > 1e-14 * scale}
    if check_hermitian:
        _check_hermitian(units, unit_source, space)
    is_real = all(abs(complex(v).imag) <= 1e-14 * scale for v in units.values())
    kept = [tuple(m) for m in monomials.values() if abs(m[0]) > 1e-14 * scale]
    return CompiledOperator(space, kept, is_real)


def _check_charge(local, table, name, text, space, modulus=None):
    delta = 0
    for site, m, _ in local:
        ts, vs = np.nonzero(m)
        changes = set((table[site, ts] - table[site, vs]).tolist())
        if modulus:
            changes = {c % modulus for c in changes}
        if len(changes) != 1:
            fixed = f"the parity of {name}" if modulus else name
            raise SectorError(f"term {text!r} does not conserve {fixed} (the sector fixes {fixed}; "
                              "remove the term or the sector constraint)")
        delta += changes.pop()
    if modulus and delta % modulus:
        raise SectorError(f"term {text!r} changes {name} by an odd amount, but the sector fixes the parity of "
                          f"{name} ({name}_parity); remove the term or drop {name}_parity from [sector]")
    if not modulus and delta != 0:
        from ..models.space import CHARGE_SCALE
        shown = delta / CHARGE_SCALE.get(name, 1)
        raise SectorError(f"term {text!r} changes {name} by {shown:+g}, but the sector fixes {name}; "
                          f"remove the term or drop {name} from [sector]")


def _check_hermitian(units, unit_source, space):
    fermionic = {i for i, s in enumerate(space.sites) if s.fermion_bits}
    for key, value in units.items():
        odd = 0
        for site, new, old in key:
            if site in fermionic and (new ^ old).bit_count() % 2:
                odd += 1
        sign = -1 if (odd * (odd - 1) // 2) % 2 else 1
        partner = tuple((site, old, new) for site, new, old in key)
        expected = sign * np.conj(units.get(partner, 0.0))
        if abs(value - expected) > 1e-10 * max(1.0, abs(value)):
            raise HermiticityError(
                f"the Hamiltonian is not hermitian: term {unit_source[key]!r} has no hermitian partner "
                f"with the conjugate coefficient (coefficient {format_coefficient(value)} against "
                f"{format_coefficient(expected)}); add 'hc = true' to the term or write its conjugate")


def check_gauss_law(op, space, gauss):
    """Raise :class:`~fockmpi.errors.SectorError` naming a term of ``op`` that changes the Gauss
    operator ``G_n = E_n - E_{n-1} - c+_n c_n`` of some site (:class:`fockmpi.basis.gauss.GaussLaw`):
    on a Gauss-law basis such a term would otherwise be dropped without a word.  Not collective."""
    from ..models.gauge import link_field2
    N = gauss.nsites
    dmax = int(space.dims.max())
    tables = []
    for n in range(N):
        table = np.zeros((space.nsites, dmax), dtype=np.int64)
        table[n, :2] = [0, -2]                      # -2 c+_n c_n (units of 1/2, as the fields)
        outgoing = n if n < gauss.nlinks else None
        incoming = n - 1 if n > 0 else (gauss.nlinks - 1 if gauss.periodic else None)
        for link, sign in ((outgoing, 1), (incoming, -1)):
            if link is not None:
                site = space.sites[N + link]
                table[N + link, :site.dim] += sign * link_field2(site, np.arange(site.dim))
        tables.append(table)
    for factors, coef in op.terms.items():
        text = format_term(factors, coef)
        res = local_factors(factors, coef, space, text)
        if res is None:
            continue
        for n, table in enumerate(tables):
            try:
                _check_charge(res[1], table, f"G_{n}", text, space)
            except SectorError:
                raise SectorError(f"term {text!r} breaks Gauss's law at site {n} (it changes E_{n} - E_{n - 1} - "
                                  f"n_{n}); a gauge-invariant hop is c+_n U_n c_n+1 (and its conjugate)") from None
