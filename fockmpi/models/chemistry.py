"""Quantum chemistry from an FCIDUMP file (the Molpro / Knowles-Handy format).

The file: a Fortran namelist header ``&FCI NORB=..., NELEC=..., MS2=..., ORBSYM=..., ISYM=..., &END``
(or ``/``; keys in any case, spread over lines), then one integral a line, ``value i j k l``
with 1-based orbital indices: ``(ij|kl)`` for i, j, k, l > 0 (chemists' notation, any one of
the 8 index orders that real orbitals make equal), ``h_ij`` for ``i j 0 0``, the core energy
for ``0 0 0 0``; orbital energies ``i 0 0 0`` are ignored.  ``D`` exponents are read.

H = E_core + sum_pq h_pq a+_p,s a_q,s + 1/2 sum_pqrs (pq|rs) a+_p,s a+_r,t a_s,t a_q,s
on electron sites (site p = orbital p+1 of the file, Jordan-Wigner order of docs/conventions.md).
Energies in hartree, including E_core.  The default sector is N_up = (NELEC + MS2)/2,
N_dn = (NELEC - MS2)/2.

Orbital symmetry: ORBSYM gives each orbital's irrep of D2h or a subgroup as 1..8 (Molpro
order), and products of irreps are ``(a - 1) XOR (b - 1) + 1``; a determinant's irrep is the
product over its occupied spin-orbitals.  ``orbital_irrep`` (default ISYM) keeps the
determinants of one irrep (a constraint of the basis).
"""
import re
from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from . import ops
from .lattice import custom_lattice
from .named import Model, spin_squared
from .space import Space

_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eEdD][-+]?\d+)?"


@dataclass
class FCIDump:
    """The contents of an FCIDUMP file.  h1[p, q], eri[p, q, r, s] = (pq|rs) with all 8
    permutations filled; orbsym (1-based irreps, or None), isym."""

    path: str
    norb: int
    nelec: int
    ms2: int
    orbsym: tuple
    isym: int
    h1: np.ndarray
    eri: np.ndarray
    ecore: float


@dataclass
class Orbitals:
    """What the determinant basis and the direct-CI operator take from an FCIDUMP model: the
    integrals, and the orbital irrep the basis keeps (1 .. 8, or None: every determinant)."""

    dump: FCIDump
    irrep: object = None

    @property
    def orbsym(self):
        return self.dump.orbsym if self.irrep is not None else None


def _fail(path, line, what):
    return InputError(f"{path}, line {line}: {what}")


def read_fcidump(path):
    """Read an FCIDUMP file; a malformed file raises :class:`~fockmpi.errors.InputError` naming
    the line.  Not collective."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            lines = f.read().splitlines()
    except OSError as e:
        raise InputError(f"{path}: cannot read the FCIDUMP file ({e.strerror})") from None
    header, end = [], None
    for k, line in enumerate(lines):
        header.append(line)
        stripped = line.strip().upper()
        if stripped.endswith("&END") or stripped in ("/", "&") or stripped.endswith("/"):
            end = k
            break
    if end is None or not header or "&FCI" not in " ".join(header).upper():
        raise _fail(path, 1, "expected a namelist header '&FCI NORB=..., NELEC=..., MS2=..., &END'")
    text = " ".join(header)
    text = re.sub(r"(?i)&FCI|&END", " ", text).replace("/", " ")
    values = {}
    for m in re.finditer(r"([A-Za-z_][A-Za-z0-9_]*)\s*=\s*([^=]*?)(?=[A-Za-z_][A-Za-z0-9_]*\s*=|$)", text):
        key = m.group(1).upper()
        items = [x for x in re.split(r"[,\s]+", m.group(2).strip()) if x]
        values[key] = items
    for key in ("NORB", "NELEC"):
        if key not in values:
            raise _fail(path, 1, f"the header lacks {key} (found {', '.join(sorted(values)) or 'no keys'})")

    def integer(key, default=None):
        items = values.get(key)
        if items is None:
            return default
        try:
            return int(items[0])
        except (ValueError, IndexError):
            raise _fail(path, 1, f"{key} must be an integer, found {' '.join(items)!r}") from None

    norb, nelec, ms2, isym = integer("NORB"), integer("NELEC"), integer("MS2", 0), integer("ISYM", 1)
    if norb < 1 or norb > 32:
        raise _fail(path, 1, f"NORB = {norb}: expected 1 .. 32 orbitals (two bits each in a 64-bit state)")
    if not 0 <= nelec <= 2 * norb:
        raise _fail(path, 1, f"NELEC = {nelec}: expected 0 .. {2 * norb} electrons in {norb} orbitals")
    if (nelec - ms2) % 2 or abs(ms2) > nelec:
        raise _fail(path, 1, f"NELEC = {nelec} and MS2 = {ms2} are incompatible (NELEC - MS2 must be even and "
                             "|MS2| <= NELEC)")
    orbsym = None
    if "ORBSYM" in values:
        try:
            orbsym = tuple(int(x) for x in values["ORBSYM"])
        except ValueError:
            raise _fail(path, 1, f"ORBSYM must be integers, found {' '.join(values['ORBSYM'])!r}") from None
        if len(orbsym) != norb or not all(1 <= s <= 8 for s in orbsym):
            hint = (" (a 0 looks like PySCF's own 0-based labels: write the file with "
                    "fcidump.from_scf(..., molpro_orbsym=True))" if 0 in orbsym else "")
            raise _fail(path, 1, f"ORBSYM must list {norb} irreps 1 .. 8 (Molpro's numbering), found "
                                 f"{list(orbsym)}{hint}")
    if not 1 <= isym <= 8:
        raise _fail(path, 1, f"ISYM = {isym}: expected an irrep 1 .. 8")
    h1 = np.zeros((norb, norb))
    eri = np.zeros((norb, norb, norb, norb))
    ecore = 0.0
    for k in range(end + 1, len(lines)):
        fields = lines[k].split()
        if not fields:
            continue
        if len(fields) != 5:
            raise _fail(path, k + 1, f"expected 'value i j k l', found {lines[k].strip()!r}")
        try:
            value = float(fields[0].replace("D", "E").replace("d", "e"))
        except ValueError:
            raise _fail(path, k + 1, f"the value {fields[0]!r} is not a number") from None
        try:
            i, j, a, b = (int(x) for x in fields[1:])
        except ValueError:
            raise _fail(path, k + 1, f"orbital indices must be integers, found {' '.join(fields[1:])!r}") from None
        if not np.isfinite(value):
            raise _fail(path, k + 1, f"the value {fields[0]!r} is not finite")
        if any(not 0 <= x <= norb for x in (i, j, a, b)):
            raise _fail(path, k + 1, f"an orbital index beyond NORB = {norb}: {i} {j} {a} {b}")
        if i and j and a and b:
            p, q, r, s = i - 1, j - 1, a - 1, b - 1
            for w, x, y, z in ((p, q, r, s), (q, p, r, s), (p, q, s, r), (q, p, s, r),
                               (r, s, p, q), (s, r, p, q), (r, s, q, p), (s, r, q, p)):
                eri[w, x, y, z] = value
        elif i and j and not a and not b:
            h1[i - 1, j - 1] = h1[j - 1, i - 1] = value
        elif not (i or j or a or b):
            ecore = value
        elif i and not (j or a or b):
            continue  # an orbital energy
        else:
            raise _fail(path, k + 1, f"indices {i} {j} {a} {b} are no integral (ij|kl), h_ij (i j 0 0) or the core "
                                     "energy (0 0 0 0)")
    if orbsym is not None:
        sym = np.array(orbsym) - 1
        bad = np.argwhere(np.abs(eri) > 1e-12)
        for p, q, r, s in bad:
            if sym[p] ^ sym[q] ^ sym[r] ^ sym[s]:
                raise _fail(path, end + 2, f"the integral ({p + 1}{q + 1}|{r + 1}{s + 1}) = {eri[p, q, r, s]:g} breaks "
                                           "ORBSYM (its irreps multiply to no A1); wrong ORBSYM?")
    return FCIDump(path, norb, nelec, ms2, orbsym, isym, h1, eri, ecore)


def hamiltonian(dump, cutoff=1e-14):
    """The electronic Hamiltonian of ``dump`` as an Operator (integrals below ``cutoff`` dropped)."""
    n = dump.norb
    H = ops.Operator.scalar(dump.ecore) if dump.ecore else ops.Operator()
    spins = ("up", "dn")
    for p in range(n):
        for q in range(n):
            if abs(dump.h1[p, q]) > cutoff:
                for s in spins:
                    H += dump.h1[p, q] * ops.cdag(p, s) * ops.c(q, s)
    for p, q, r, s in np.argwhere(np.abs(dump.eri) > cutoff):
        v = 0.5 * dump.eri[p, q, r, s]
        for a in spins:
            for b in spins:
                if (p, a) == (r, b) or (q, a) == (s, b):
                    continue  # two creators (or annihilators) on one spin-orbital: zero
                H += v * ops.cdag(int(p), a) * ops.cdag(int(r), b) * ops.c(int(s), b) * ops.c(int(q), a)
    return H


def orbital_irrep_filter(orbsym, irrep):
    """Predicate on packed electron states: the product of the irreps of the occupied spin-orbitals
    is ``irrep`` (1 .. 8).  Vectorized over states, a loop over orbitals."""
    sym = np.array(orbsym, dtype=np.uint64) - np.uint64(1)
    want = np.uint64(irrep - 1)

    def allowed(states):
        acc = np.zeros(len(states), dtype=np.uint64)
        for p, s in enumerate(sym):
            if s:
                odd = ((states >> np.uint64(2 * p)) ^ (states >> np.uint64(2 * p + 1))) & np.uint64(1)
                acc ^= odd * s  # a doubly occupied orbital contributes s XOR s = A1
        return acc == want

    allowed.__name__ = f"orbital_irrep={irrep}"
    return allowed


def fcidump(path, orbital_irrep=None):
    """The model of an FCIDUMP file: electrons in its orbitals, ``model.default_sector`` from
    NELEC and MS2, and with ORBSYM the determinants of ``orbital_irrep`` (default ISYM) only."""
    dump = read_fcidump(path) if isinstance(path, str) else path
    space = Space.uniform("electron", dump.norb)
    model = Model("fcidump", custom_lattice(dump.norb, {}, where="[model]"), space, hamiltonian(dump))
    model.default_sector = {"N_up": (dump.nelec + dump.ms2) // 2, "N_dn": (dump.nelec - dump.ms2) // 2}
    model.dump = dump
    model.observables = {"S2": spin_squared(space)}  # the spin of every root
    model.orbitals = Orbitals(dump)
    if dump.orbsym is not None and any(s != 1 for s in dump.orbsym):
        irrep = dump.isym if orbital_irrep is None else int(orbital_irrep)
        if not 1 <= irrep <= 8:
            raise InputError(f"orbital_irrep = {irrep}: expected an irrep 1 .. 8")
        model.constraint = orbital_irrep_filter(dump.orbsym, irrep)
        model.orbitals = Orbitals(dump, irrep)
    elif orbital_irrep not in (None, 1):
        raise InputError(f"orbital_irrep = {orbital_irrep}, but {dump.path} has no ORBSYM (every orbital A1)")
    return model
