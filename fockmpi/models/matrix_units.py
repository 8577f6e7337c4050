"""An operator on a space as numbers: per-site matrices, and the canonical expansion into matrix units.

This is where the symbolic algebra of :mod:`fockmpi.models.ops` meets the local spaces of
:mod:`fockmpi.models.space` (spin-S, bosons with their cutoff, fermions with Jordan-Wigner
signs).  Two operators are equal on a space exactly when their matrix units agree
(:func:`matrix_units`); the symbolic :func:`~fockmpi.models.ops.normal_ordered` knows no
space, so it reduces spins with spin-1/2 rules and bosons with the untruncated algebra, and
is not used to compare operators on a space.
"""
import itertools

import numpy as np

from ..errors import OperatorError
from .ops import format_factor, format_term

_ODD = {"F+", "F-"}


def local_factors(factors, coef, space, text):
    """Sort a product by site with fermion signs; multiply same-site factors.

    Returns ``(coef, [(site, matrix, odd), ...])`` with sites ascending, or ``None`` if zero.
    """
    for kind, site, flavor in factors:
        if not 0 <= site < space.nsites:
            raise OperatorError(f"term {text!r}: site {site} does not exist (the lattice has sites "
                                f"0..{space.nsites - 1})")
        if not space.sites[site].accepts(kind, flavor):
            raise OperatorError(f"term {text!r}: factor {format_factor((kind, site, flavor))} "
                                f"does not act on site {site}, which is a {space.sites[site].kind} site")
    order = sorted(range(len(factors)), key=lambda k: factors[k][1])
    sign = 1
    for x, y in itertools.combinations(range(len(order)), 2):
        a, bb = order[x], order[y]  # a now stands left of bb; it was right of bb if a > bb
        if a > bb and factors[a][0] in _ODD and factors[bb][0] in _ODD:
            sign = -sign
    local = []
    for site, group in itertools.groupby((factors[k] for k in order), key=lambda f: f[1]):
        group = list(group)
        m = space.sites[site].identity_matrix()
        for kind, _, flavor in group:
            m = m @ space.sites[site].factor_matrix(kind, flavor)
        odd = sum(kind in _ODD for kind, _, _ in group) % 2 == 1
        if not m.any():
            return None
        if not odd and np.array_equal(m, np.eye(len(m))):
            continue
        local.append((site, m, odd))
    return coef * sign, local


def matrix_units_of(local):
    """Canonical expansion of a site-ordered product: ``{((site, new, old), ...): value}``.

    Each local matrix is written in the operator basis ``{1} + {E[a, b] : (a, b) != (0, 0)}``
    of its site (``E[0, 0] = 1 - sum_{a > 0} E[a, a]``); identity factors are left out of the
    key.  Products of these are linearly independent, so equal operators have equal
    expansions (with plain matrix units, ``n_i n_j`` and ``(1 - n_i)(1 - n_j) + n_i + n_j - 1``
    would differ).  The basis is closed under the adjoint (``E[a, b] -> E[b, a]``)."""
    per_site = []
    for site, m, _ in local:
        parts = [] if m[0, 0] == 0 else [(None, m[0, 0])]
        for t, v in zip(*np.nonzero(m)):
            if t != v:
                parts.append(((site, int(t), int(v)), m[t, v]))
        for a in range(1, len(m)):
            if m[a, a] != m[0, 0]:
                parts.append(((site, a, a), m[a, a] - m[0, 0]))
        per_site.append(parts)
    out = {}
    for combo in itertools.product(*per_site):
        value = 1.0
        for _, x in combo:
            value *= x
        key = tuple(unit for unit, _ in combo if unit is not None)
        out[key] = out.get(key, 0) + value
    return out


def matrix_units(op, space):
    """``op`` on ``space`` as ``{((site, new, old), ...): value}`` (sites ascending, fermion signs
    of reordering absorbed, zero entries dropped), and for every key the text of the first term
    that produced it.  Canonical: ``matrix_units(a) == matrix_units(b)`` (to rounding) exactly
    when ``a`` and ``b`` act alike on every state of ``space``.  Not collective."""
    units, source = {}, {}
    for factors, coef in op.terms.items():
        text = format_term(factors, coef)
        res = local_factors(factors, coef, space, text)
        if res is None:
            continue
        c, local = res
        for key, value in matrix_units_of(local).items():
            units[key] = units.get(key, 0) + c * value
            source.setdefault(key, text)
    return units, source
