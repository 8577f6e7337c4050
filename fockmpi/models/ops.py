"""Second-quantized operator algebra (pure Python, no basis, no MPI).

An :class:`Operator` is a sum of products of elementary factors with complex coefficients,
stored as a dict ``{(factor, factor, ...): coefficient}``.  A factor is a tuple
``(kind, site, flavor)``:

========  =====================================  ==========================================
kind      meaning                                flavor
========  =====================================  ==========================================
``F+``    fermion creator  c^dagger              -1 spinless, 0 spin up, 1 spin down
``F-``    fermion annihilator c                  as above
``B+``    boson creator b^dagger                 -1
``B-``    boson annihilator b                    -1
``S+``    spin raising S^+ = S^x + i S^y         -1
``S-``    spin lowering S^-                      -1
``Sz``    spin S^z (eigenvalues -S .. S)         -1
``U+``    gauge link U: raises the field E by 1  -1
``U-``    U^dagger: lowers E by 1                -1
``E``     the electric field E of a link         -1
========  =====================================  ==========================================

Number operators, ``S^x = (S^+ + S^-)/2`` and ``S^y = (S^+ - S^-)/(2i)`` are expanded into
these at construction, so every operator has one representation in terms of ladder operators.
Spin operators are S = sigma/2 (no Pauli convention anywhere).

A product is applied right to left: ``cdag(0) * c(1)`` is c^dagger_0 c_1.

Fermionic sign convention (Jordan-Wigner), written down once here and in docs/conventions.md:
modes are ordered by (site, flavor) with up (0) before down (1); a Fock state is
``|n_0 n_1 ...> = (c^dagger_0)^{n_0} (c^dagger_1)^{n_1} ... |0>`` with mode 0 leftmost, so
``c^dagger_m`` acting on it gives the sign ``(-1)^(sum_{m' < m} n_{m'})``.

The spin of a site (1/2, 1, ... 50) belongs to the space (:mod:`fockmpi.models.space`), not
to the operator: the same ``Sp(0) * Sm(1)`` is a spin-1/2 or a spin-1 exchange.
``normal_ordered`` knows no space: it multiplies spin factors out with spin-1/2 rules and uses
the canonical (anti)commutation relations of the *untruncated* boson algebra, so it compares
operators of spin-1/2, fermion and untruncated boson systems only (on a space,
:func:`fockmpi.models.matrix_units.matrix_units` is exact); the matrix of a boson operator with a cutoff ``nmax`` is built from the product as
written (see :mod:`fockmpi.operator.compile`), not from its normal-ordered form.
"""
import numbers
import re

from ..errors import OperatorError


FLAVOR_NAMES = {-1: None, 0: "up", 1: "dn"}

_FLAVOR_ALIASES = {"up": 0, "u": 0, "↑": 0, "0": 0, "dn": 1, "down": 1, "d": 1, "↓": 1, "1": 1}

_DAGGER = {"F+": "F-", "F-": "F+", "B+": "B-", "B-": "B+", "S+": "S-", "S-": "S+", "Sz": "Sz", "U+": "U-",
           "U-": "U+", "E": "E"}

_SPECIES = {"F+": "F", "F-": "F", "B+": "B", "B-": "B", "S+": "S", "S-": "S", "Sz": "S", "U+": "L", "U-": "L",
            "E": "L"}


def _flavor(spin):
    if spin is None:
        return -1
    key = str(spin).strip().lower()
    if key not in _FLAVOR_ALIASES:
        raise OperatorError(f"spin label {spin!r} not understood: expected 'up' or 'dn'")
    return _FLAVOR_ALIASES[key]


def _site(i):
    if isinstance(i, bool) or not isinstance(i, numbers.Integral) or i < 0:
        raise OperatorError(f"site index must be a non-negative integer, found {i!r}")
    return int(i)


class Operator:
    """A polynomial in creation/annihilation and spin operators.

    Supports ``+``, ``-``, ``*`` (operator product or scalar), ``/`` by a scalar,
    :meth:`hc` (hermitian conjugate) and :meth:`plus_hc`.  Not collective.
    """

    __slots__ = ("terms",)

    def __init__(self, terms=None):
        self.terms = {}
        for factors, coef in (terms or {}).items():
            if coef != 0:
                self.terms[tuple(factors)] = self.terms.get(tuple(factors), 0) + complex(coef)

    @classmethod
    def scalar(cls, value):
        """The operator ``value * 1``."""
        return cls({(): value})

    # --- arithmetic ------------------------------------------------------------------
    def __add__(self, other):
        other = _as_operator(other)
        if other is NotImplemented:
            return other
        out = dict(self.terms)
        for key, coef in other.terms.items():
            out[key] = out.get(key, 0) + coef
        return Operator({k: v for k, v in out.items() if v != 0})

    __radd__ = __add__

    def __iadd__(self, other):
        # in place: building H term by term (``H += ...`` over bonds) stays linear in the
        # number of terms, where ``H = H + ...`` would copy the whole dict every time
        other = _as_operator(other)
        if other is NotImplemented:
            return other
        terms = self.terms
        for key, coef in other.terms.items():
            value = terms.get(key, 0) + coef
            if value != 0:
                terms[key] = value
            else:
                terms.pop(key, None)
        return self

    def __neg__(self):
        return Operator({k: -v for k, v in self.terms.items()})

    def __sub__(self, other):
        other = _as_operator(other)
        if other is NotImplemented:
            return other
        return self + (-other)

    def __rsub__(self, other):
        return (-self) + other

    def __mul__(self, other):
        if isinstance(other, numbers.Number):
            return Operator({k: v * other for k, v in self.terms.items()})
        if not isinstance(other, Operator):
            return NotImplemented
        out = {}
        for ka, va in self.terms.items():
            for kb, vb in other.terms.items():
                key = ka + kb
                out[key] = out.get(key, 0) + va * vb
        return Operator(out)

    def __rmul__(self, other):
        if isinstance(other, numbers.Number):
            return self * other
        return NotImplemented

    def __truediv__(self, other):
        if not isinstance(other, numbers.Number):
            return NotImplemented
        return self * (1.0 / other)

    # --- conjugation -----------------------------------------------------------------
    def hc(self):
        """Hermitian conjugate: reverse each product, dagger each factor, conjugate."""
        return Operator({tuple((_DAGGER[k], s, f) for k, s, f in reversed(key)): v.conjugate()
                         for key, v in self.terms.items()})

    def plus_hc(self):
        """``self + self.hc()``: the '+ h.c.' of a physicist's Hamiltonian."""
        return self + self.hc()

    # --- inspection ------------------------------------------------------------------
    def __len__(self):
        return len(self.terms)

    def __iter__(self):
        return iter(self.terms.items())

    def sites(self):
        """Sorted list of the sites this operator acts on."""
        return sorted({s for key in self.terms for _, s, _ in key})

    def is_zero(self, tol=1e-12):
        """True if the normal-ordered operator has no coefficient above ``tol``."""
        return all(abs(v) <= tol for v in normal_ordered(self).terms.values())

    def __repr__(self):
        return f"Operator({format_operator(self)})"

    def __str__(self):
        return format_operator(self)


def _as_operator(x):
    if isinstance(x, Operator):
        return x
    if isinstance(x, numbers.Number):
        return Operator.scalar(x)
    return NotImplemented


# --- constructors ------------------------------------------------------------------------
def cdag(i, spin=None):
    """Fermion creator c^dagger_{i,spin}; ``spin=None`` for spinless fermions."""
    return Operator({(("F+", _site(i), _flavor(spin)),): 1.0})


def c(i, spin=None):
    """Fermion annihilator c_{i,spin}."""
    return Operator({(("F-", _site(i), _flavor(spin)),): 1.0})


def n(i, spin=None):
    """Fermion number c^dagger_{i,spin} c_{i,spin}."""
    return cdag(i, spin) * c(i, spin)


def bdag(i):
    """Boson creator b^dagger_i (its matrix is truncated at the site's ``nmax``)."""
    return Operator({(("B+", _site(i), -1),): 1.0})


def b(i):
    """Boson annihilator b_i."""
    return Operator({(("B-", _site(i), -1),): 1.0})


def nb(i):
    """Boson number b^dagger_i b_i."""
    return bdag(i) * b(i)


def U(i):
    """The gauge link U_i of a link site: raises its electric field by one (0 at the cutoff)."""
    return Operator({(("U+", _site(i), -1),): 1.0})


def Udag(i):
    """U^dagger_i: lowers the electric field of link i by one."""
    return Operator({(("U-", _site(i), -1),): 1.0})


def Efield(i):
    """The electric field E_i of a link site (integer eigenvalues -Lambda .. Lambda)."""
    return Operator({(("E", _site(i), -1),): 1.0})


def Sp(i):
    """Spin raising operator S^+_i."""
    return Operator({(("S+", _site(i), -1),): 1.0})


def Sm(i):
    """Spin-1/2 lowering operator S^-_i."""
    return Operator({(("S-", _site(i), -1),): 1.0})


def Sz(i):
    """Spin-1/2 S^z_i with eigenvalues +1/2 (up) and -1/2 (down)."""
    return Operator({(("Sz", _site(i), -1),): 1.0})


def Sx(i):
    """S^x_i = (S^+_i + S^-_i) / 2."""
    return (Sp(i) + Sm(i)) * 0.5


def Sy(i):
    """S^y_i = (S^+_i - S^-_i) / (2i)."""
    return (Sp(i) - Sm(i)) * (-0.5j)


def identity():
    """The identity operator."""
    return Operator.scalar(1.0)


# --- normal ordering ---------------------------------------------------------------------
def _ladder_key(factor):
    kind, site, flavor = factor
    # creators left of annihilators; within each group, descending (site, flavor)
    return (0 if kind[1] == "+" else 1, -site, -flavor, _SPECIES[kind])


def _order_ladder(factors, coef, out):
    for k in range(len(factors) - 1):
        a, bb = factors[k], factors[k + 1]
        if _ladder_key(a) <= _ladder_key(bb):
            continue
        both_fermions = _SPECIES[a[0]] == "F" and _SPECIES[bb[0]] == "F"
        swapped = factors[:k] + (bb, a) + factors[k + 2:]
        _order_ladder(swapped, -coef if both_fermions else coef, out)
        same_mode = a[1:] == bb[1:] and _SPECIES[a[0]] == _SPECIES[bb[0]]
        if same_mode and a[0][1] == "-" and bb[0][1] == "+":
            # c c^dag = 1 - c^dag c ;  b b^dag = 1 + b^dag b
            _order_ladder(factors[:k] + factors[k + 2:], coef, out)
        return
    for k in range(len(factors) - 1):
        if _SPECIES[factors[k][0]] == "F" and factors[k] == factors[k + 1]:
            return  # (c^dag)^2 = c^2 = 0
    out[factors] = out.get(factors, 0) + coef


# spin-1/2 matrices in the basis (up, down)
_SPIN_MATRIX = {
    "S+": ((0.0, 1.0), (0.0, 0.0)),
    "S-": ((0.0, 0.0), (1.0, 0.0)),
    "Sz": ((0.5, 0.0), (0.0, -0.5)),
}


def _matmul2(a, bb):
    return tuple(tuple(sum(a[i][k] * bb[k][j] for k in range(2)) for j in range(2)) for i in range(2))


def _reduce_spin_site(kinds):
    """Product of spin-1/2 factors on one site -> {kind or None: coef} in the basis 1,S+,S-,Sz."""
    m = ((1.0, 0.0), (0.0, 1.0))
    for kind in kinds:
        m = _matmul2(m, _SPIN_MATRIX[kind])
    parts = {None: (m[0][0] + m[1][1]) / 2, "S+": m[0][1], "S-": m[1][0], "Sz": m[0][0] - m[1][1]}
    return {k: v for k, v in parts.items() if v != 0}


def normal_ordered(op):
    """Normal-ordered form of ``op`` (a new Operator).

    Ladder operators: creators to the left of annihilators, each group in descending
    (site, flavor) order, using {c, c^dag} = 1 and [b, b^dag] = 1 (untruncated algebra).
    Spin-1/2 factors on one site are multiplied out to one of 1, S^+, S^-, S^z, and
    written after the ladder operators in ascending site order.  Link factors (U, U^dagger, E)
    are kept as written, after the ladder operators, sorted by site (stable).  Equal terms are merged and
    zero terms dropped, so two operators are equal iff their normal-ordered forms are.
    """
    out = {}
    for factors, coef in op.terms.items():
        ladder = tuple(f for f in factors if _SPECIES[f[0]] in "FB")
        links = tuple(sorted((f for f in factors if _SPECIES[f[0]] == "L"), key=lambda f: f[1]))  # as written
        spin_by_site = {}
        for kind, site, _ in (f for f in factors if _SPECIES[f[0]] == "S"):
            spin_by_site.setdefault(site, []).append(kind)
        spin_terms = {(): coef}
        for site in sorted(spin_by_site):
            reduced = _reduce_spin_site(spin_by_site[site])
            spin_terms = {key + (((kind, site, -1),) if kind else ()): v * w
                          for key, v in spin_terms.items() for kind, w in reduced.items()}
        for spin_key, spin_coef in spin_terms.items():
            ordered = {}
            _order_ladder(ladder, spin_coef, ordered)
            for key, v in ordered.items():
                full = key + links + spin_key
                out[full] = out.get(full, 0) + v
    return Operator({k: v for k, v in out.items() if abs(v) > 1e-15})


def is_hermitian(op, tol=1e-12):
    """True if ``op`` equals its hermitian conjugate (compared in normal order)."""
    return (op - op.hc()).is_zero(tol)


def commutator(a, bb):
    """[a, b] = ab - ba (not normal-ordered; apply :func:`normal_ordered` to simplify)."""
    return a * bb - bb * a


def anticommutator(a, bb):
    """{a, b} = ab + ba."""
    return a * bb + bb * a


# --- text form ---------------------------------------------------------------------------
_FACTOR_TEXT = {"F+": "cdag", "F-": "c", "B+": "bdag", "B-": "b", "S+": "S+", "S-": "S-", "Sz": "Sz", "U+": "U",
                "U-": "Udag", "E": "E"}


def format_factor(factor):
    kind, site, flavor = factor
    text = f"{_FACTOR_TEXT[kind]}_{site}"
    if flavor >= 0:
        text += "," + FLAVOR_NAMES[flavor]
    return text


def format_coefficient(v):
    v = complex(v)
    if v.imag == 0:
        return f"{v.real:.12g}"
    if v.real == 0:
        return f"{v.imag:.12g}j"
    return f"({v.real:.12g}{v.imag:+.12g}j)"


def format_term(factors, coef=1.0):
    return " ".join([format_coefficient(coef)] + [format_factor(f) for f in factors])


def format_operator(op):
    if not op.terms:
        return "0"
    return " + ".join(format_term(k, v) for k, v in op.terms.items())


# --- parsing -----------------------------------------------------------------------------
_NAMES = ("cdag", "c", "n", "bdag", "b", "S+", "S-", "Sp", "Sm", "Sz", "Sx", "Sy", "U", "Udag", "E", "Id")

# ASCII digits only: \d would accept any Unicode digit ("Sz_٣" as site 3)
_FACTOR_RE = re.compile(r"^(?P<name>[A-Za-z]+[+-]?)_(?P<site>[A-Za-z]|[0-9]+)(?:,(?P<flavor>[A-Za-z0-9_↑↓]+))?$")

_SPIN_OPS = {"S+", "S-", "Sp", "Sm", "Sz", "Sx", "Sy"}


def parse_operator(text, site_kind=None, bindings=None):
    """Parse a product of factors such as ``"cdag_2,up c_5,up"`` or ``"S+_i S-_j"``.

    Parameters
    ----------
    text : str
        Factors separated by spaces or ``*``: ``NAME_SITE`` or ``NAME_SITE,SPIN`` with NAME one
        of cdag, c, n (fermions), bdag, b, n (bosons), S+, S-, Sz, Sx, Sy (spins of any S;
        also Sp, Sm), Id.  SITE is an integer or a template letter bound in ``bindings``.  SPIN is
        up/dn, or the letter ``s`` (summed over up and dn when ``bindings`` has no ``s``).
    site_kind : callable, optional
        ``site -> 'spin' | 'fermion' | 'electron' | 'boson'``; used to decide what ``n``
        means and to check that each factor fits its site.  Without it, ``n`` is fermionic.
    bindings : dict, optional
        Template letters to site indices, e.g. ``{"i": 3, "j": 4}``.

    Returns
    -------
    Operator
        With coefficient 1.  Not collective.
    """
    bindings = bindings or {}
    words = [w for w in re.split(r"[\s*]+", text.strip()) if w]
    if not words:
        raise OperatorError(f"empty operator string {text!r}")
    flavor_letters = {m.group("flavor") for m in (_FACTOR_RE.match(w) for w in words)
                      if m and m.group("flavor") and m.group("flavor").lower() not in _FLAVOR_ALIASES}
    if flavor_letters - {"s"} - set(bindings):
        bad = min(flavor_letters - {"s"} - set(bindings))
        raise OperatorError(f"in {text!r}: spin label {bad!r} not understood (use up, dn, or s "
                            "for a sum over both)")
    if "s" in flavor_letters and "s" not in bindings:
        return sum((parse_operator(text, site_kind, {**bindings, "s": sp}) for sp in ("up", "dn")),
                   Operator())
    result = identity()
    for word in words:
        result = result * _parse_factor(word, text, site_kind, bindings)
    return result


def _parse_factor(word, text, site_kind, bindings):
    m = _FACTOR_RE.match(word)
    if not m or m.group("name") not in _NAMES:
        name = word.split("_")[0]
        hint = None
        if name not in _NAMES:
            from ..errors import did_you_mean
            hint = did_you_mean(name, _NAMES)
        msg = (f"in {text!r}: cannot read factor {word!r}; expected NAME_SITE or NAME_SITE,SPIN "
               f"with NAME one of {', '.join(_NAMES)} and SITE a number in the digits 0-9 or a "
               "template letter")
        raise OperatorError(msg + (f" ({hint})" if hint else ""))
    name, site_text, flavor_text = m.group("name"), m.group("site"), m.group("flavor")
    if site_text.isdigit():
        site = int(site_text)
    elif site_text in bindings:
        site = bindings[site_text]
    else:
        raise OperatorError(f"in {text!r}: site {site_text!r} is a template letter, but this term is "
                            "not applied to a bond or site list (give 'bonds' or 'sites')")
    if flavor_text is not None and flavor_text in bindings:
        flavor_text = bindings[flavor_text]
    kind = site_kind(site) if site_kind else None
    if name == "Id":
        return identity()
    if name in _SPIN_OPS:
        if kind not in (None, "spin"):
            raise OperatorError(f"in {text!r}: {name} acts on spin sites, but site {site} is a {kind} site")
        if flavor_text is not None:
            raise OperatorError(f"in {text!r}: spin operator {word!r} takes no spin label")
        return {"S+": Sp, "Sp": Sp, "S-": Sm, "Sm": Sm, "Sz": Sz, "Sx": Sx, "Sy": Sy}[name](site)
    if name in ("U", "Udag", "E"):
        if kind not in (None, "link"):
            raise OperatorError(f"in {text!r}: {name} acts on link sites, but site {site} is a {kind} site")
        if flavor_text is not None:
            raise OperatorError(f"in {text!r}: link operator {word!r} takes no spin label")
        return {"U": U, "Udag": Udag, "E": Efield}[name](site)
    if name in ("bdag", "b") or (name == "n" and kind == "boson"):
        if kind not in (None, "boson"):
            raise OperatorError(f"in {text!r}: {name} acts on boson sites, but site {site} is a {kind} site")
        if flavor_text is not None:
            raise OperatorError(f"in {text!r}: boson operator {word!r} takes no spin label")
        return {"bdag": bdag, "b": b, "n": nb}[name](site)
    # fermions
    if kind not in (None, "fermion", "electron"):
        raise OperatorError(f"in {text!r}: {name} acts on fermion sites, but site {site} is a {kind} site")
    if kind == "fermion" and flavor_text is not None:
        raise OperatorError(f"in {text!r}: site {site} holds spinless fermions; drop the spin label of {word!r}")
    if kind == "electron" and flavor_text is None:
        if name == "n":
            return n(site, "up") + n(site, "dn")
        raise OperatorError(f"in {text!r}: site {site} holds electrons; write {word},up or {word},dn")
    spin = _flavor(flavor_text) if flavor_text is not None else None
    return {"cdag": cdag, "c": c, "n": n}[name](site, FLAVOR_NAMES[spin] if spin is not None else None)
