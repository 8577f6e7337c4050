"""Lattices: site count, coordinates and named bond lists.

Built-in lattices (``size`` gives unit cells per direction, ``boundary`` is ``periodic`` or
``open``, or one per direction):

============  ========  ==================================================================
type          size      sites and bond lists
============  ========  ==================================================================
chain         [L]       i;                       nn (i, i+1), nnn (i, i+2)
ladder        [L]       2x + leg (leg 0, 1);     leg, rung, nn = leg + rung
square        [Lx, Ly]  x + Lx y;                nn (+x, +y), nnn (diagonals)
triangular    [Lx, Ly]  x + Lx y;                nn (+a1, +a2, a2 - a1)
honeycomb     [Lx, Ly]  2 (x + Lx y) + sub;      nn (3 per A site)
kagome        [Lx, Ly]  3 (x + Lx y) + sub;      nn (up and down triangles)
custom        -         ``sites = N``;           ``[lattice.bonds]`` name = [[i, j, J_ij], ...]
============  ========  ==================================================================

Each bond is ``(i, j, J)`` with ``J = 1`` for built-in lattices.  On a periodic direction of
length 2 a bond and its wrapped image coincide and both are kept (the usual convention for
periodic clusters); a bond from a site to itself is an error.
"""
import numpy as np

from ..errors import CapacityError, ConfigError, did_you_mean


LATTICE_TYPES = ("chain", "ladder", "square", "triangular", "honeycomb", "kagome", "custom")

MAX_SITES = 64  # a basis state is one uint64 (fockmpi.models.space), and every site takes a bit or more


def _too_many_sites(what):
    return CapacityError(f"{what} more than {MAX_SITES} sites, but a basis state is packed into 64 bits "
                         "(one bit per spin-1/2 or spinless fermion, two per electron site)")


def nsites_per_cell(kind):
    """Sites per unit cell of a built-in lattice."""
    return {"ladder": 2, "honeycomb": 2, "kagome": 3}.get(kind, 1)


class Lattice:
    """Sites and named bond lists.  Not collective.

    Attributes
    ----------
    nsites : int
    bonds : dict[str, list[tuple[int, int, float]]]
    coords : ndarray (nsites, 2)
    """

    def __init__(self, kind, nsites, bonds, coords=None, size=None, boundary=None):
        self.kind = kind
        self.nsites = int(nsites)
        self.bonds = {k: [(int(i), int(j), float(J)) for i, j, J in v] for k, v in bonds.items()}
        self.coords = np.zeros((self.nsites, 2)) if coords is None else np.asarray(coords, float)
        self.size = size
        self.boundary = boundary
        self.vectors = None  # Bravais vectors (a1, a2) of 2D built-in lattices

    def bond_list(self, name, where="bonds"):
        if name not in self.bonds:
            from ..errors import did_you_mean
            raise ConfigError(where, message=f"{where}: the lattice has no bond list '{name}'",
                              hint=did_you_mean(name, self.bonds) or f"available: {', '.join(sorted(self.bonds))}")
        return self.bonds[name]

    def __repr__(self):
        return f"Lattice({self.kind}, size={self.size}, nsites={self.nsites}, bonds={ {k: len(v) for k, v in self.bonds.items()} })"


def _cells(size, periodic, offsets_by_name, nsub, positions, a1, a2):
    """Bonds of a 2D Bravais lattice with ``nsub`` sites per cell.

    ``offsets_by_name[name]`` lists ``(sub_from, sub_to, dx, dy)``.
    """
    Lx, Ly = size
    index = lambda x, y, s: nsub * (x + Lx * y) + s
    bonds = {}
    for name, offs in offsets_by_name.items():
        out = []
        for y in range(Ly):
            for x in range(Lx):
                for s, t, dx, dy in offs:
                    X, Y = x + dx, y + dy
                    if not periodic[0] and not 0 <= X < Lx:
                        continue
                    if not periodic[1] and not 0 <= Y < Ly:
                        continue
                    i, j = index(x, y, s), index(X % Lx, Y % Ly, t)
                    if i == j:
                        raise ConfigError("[lattice] size", message=f"[lattice] size {list(size)}: a periodic "
                                          "direction is too short, a bond would join a site to itself",
                                          hint="use at least 2 cells or boundary = \"open\" in that direction")
                    out.append((i, j, 1.0))
        bonds[name] = out
    coords = np.array([[x * a1[0] + y * a2[0] + p[0], x * a1[1] + y * a2[1] + p[1]]
                       for y in range(Ly) for x in range(Lx) for p in positions])
    return bonds, coords


def make_lattice(kind, size, boundary="periodic"):
    """Build a built-in lattice (see module docstring).  Not collective."""
    dims = 1 if kind in ("chain", "ladder") else 2
    size = [size] if isinstance(size, int) else list(size)
    if len(size) != dims or any(not isinstance(n, int) or isinstance(n, bool) or n < 1 for n in size):
        raise ConfigError("[lattice] size", f"{dims} positive integer(s) for a {kind} lattice", size)
    if nsites_per_cell(kind) * int(np.prod([min(n, 1 << 20) for n in size])) > MAX_SITES:
        # refused before any bond is built: no packed state holds more than 64 sites
        raise _too_many_sites(f"[lattice] size {list(size)}: a {kind} lattice of that size has")
    given = boundary
    if isinstance(boundary, str):
        boundary = [boundary] * dims
    if not isinstance(boundary, list) or len(boundary) != dims or any(b not in ("periodic", "open") for b in boundary):
        raise ConfigError("[lattice] boundary", f"'periodic' or 'open', or a list of {dims} of them "
                          "(one per direction)", given, hint=next((did_you_mean(b, ("periodic", "open")) for b in
                                                                  (given if isinstance(given, list) else [given])
                                                                  if isinstance(b, str) and b not in ("periodic", "open")), None))
    periodic = [b == "periodic" for b in boundary]
    if kind == "chain":
        (L,) = size
        periodic += [False]
        offsets = {"nn": [(0, 0, 1, 0)]}
        if L > 2 or not periodic[0]:
            offsets["nnn"] = [(0, 0, 2, 0)]
        bonds, coords = _cells((L, 1), periodic, offsets, 1, [(0, 0)], (1, 0), (0, 1))
        bonds.setdefault("nnn", [])
    elif kind == "ladder":
        (L,) = size
        bonds = {"leg": [], "rung": []}
        for x in range(L):
            bonds["rung"].append((2 * x, 2 * x + 1, 1.0))
            if x + 1 < L or (periodic[0] and L > 1):
                for leg in (0, 1):
                    bonds["leg"].append((2 * x + leg, 2 * ((x + 1) % L) + leg, 1.0))
        bonds["nn"] = bonds["leg"] + bonds["rung"]
        coords = np.array([[x, leg] for x in range(L) for leg in (0, 1)], float)
    elif kind == "square":
        bonds, coords = _cells(size, periodic, {"nn": [(0, 0, 1, 0), (0, 0, 0, 1)],
                                                "nnn": [(0, 0, 1, 1), (0, 0, 1, -1)]},
                               1, [(0, 0)], (1, 0), (0, 1))
    elif kind == "triangular":
        h = np.sqrt(3) / 2
        bonds, coords = _cells(size, periodic, {"nn": [(0, 0, 1, 0), (0, 0, 0, 1), (0, 0, -1, 1)]},
                               1, [(0, 0)], (1, 0), (0.5, h))
    elif kind == "honeycomb":
        h = np.sqrt(3) / 2
        bonds, coords = _cells(size, periodic, {"nn": [(0, 1, 0, 0), (0, 1, -1, 0), (0, 1, 0, -1)]},
                               2, [(0, 0), (0.5, h / 3)], (1, 0), (0.5, h))
    elif kind == "kagome":
        h = np.sqrt(3) / 2
        bonds, coords = _cells(size, periodic, {"nn": [(0, 1, 0, 0), (0, 2, 0, 0), (1, 2, 0, 0),
                                                       (1, 0, 1, 0), (2, 0, 0, 1), (1, 2, 1, -1)]},
                               3, [(0, 0), (0.5, 0), (0.25, h / 2)], (1, 0), (0.5, h))
    else:
        raise ConfigError("[lattice] type", f"one of {', '.join(LATTICE_TYPES)}", kind)
    nsites = len(coords)
    lattice = Lattice(kind, nsites, bonds, coords, size=size, boundary=boundary)
    if dims == 2:
        h = np.sqrt(3) / 2
        lattice.vectors = ((1.0, 0.0), (0.0, 1.0)) if kind == "square" else ((1.0, 0.0), (0.5, h))
    return lattice


def custom_lattice(nsites, bonds, where="[lattice]"):
    """A lattice from a site count and bond lists ``{name: [[i, j], [i, j, J_ij], ...]}``."""
    if isinstance(nsites, bool) or not isinstance(nsites, int) or nsites < 1:
        raise ConfigError(f"{where} sites", "a positive integer", nsites)
    if nsites > MAX_SITES:
        raise _too_many_sites(f"{where} sites = {nsites}: that is")
    out = {}
    for name, entries in bonds.items():
        key = f"{where[:-1]}.bonds] {name}"
        if not isinstance(entries, list):
            raise ConfigError(key, "a list of bonds [i, j] or [i, j, J_ij]", entries)
        lst = []
        for n, e in enumerate(entries):
            ok = isinstance(e, list) and len(e) in (2, 3) and all(
                isinstance(v, int) and not isinstance(v, bool) for v in e[:2]) and (
                len(e) == 2 or (isinstance(e[2], (int, float)) and not isinstance(e[2], bool) and np.isfinite(e[2])))
            if not ok:
                raise ConfigError(f"{key}[{n}]", "[i, j] or [i, j, J_ij] with integer sites and a finite J_ij", e)
            i, j = e[0], e[1]
            for s in (i, j):
                if not 0 <= s < nsites:
                    raise ConfigError(f"{key}[{n}]", f"site indices in 0..{nsites - 1}", e)
            if i == j:
                raise ConfigError(f"{key}[{n}]", "two different sites", e)
            lst.append((i, j, float(e[2]) if len(e) == 3 else 1.0))
        out[name] = lst
    angle = 2 * np.pi * np.arange(nsites) / nsites
    return Lattice("custom", nsites, out, np.c_[np.cos(angle), np.sin(angle)])
