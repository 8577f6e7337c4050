"""Symmetries of lattices: translations and their momenta, point groups and little groups, chain reflections, sublattice signs."""
import numpy as np

from ..errors import SectorError


# --- generators of the built-in lattices ------------------------------------------------------
def translation_generators(lattice):
    """The translations of a periodic built-in lattice, one per periodic direction, as
    ``(name, permutation, length)``: ``T_d`` moves every site by minus one cell along ``d``."""
    out = []
    if lattice.size is None:
        return out
    size = list(lattice.size)
    periodic = [b == "periodic" for b in lattice.boundary]
    if lattice.kind in ("chain", "ladder"):
        L = size[0]
        per_cell = 1 if lattice.kind == "chain" else 2
        if periodic[0]:
            perm = [((i // per_cell - 1) % L) * per_cell + i % per_cell for i in range(L * per_cell)]
            out.append(("T", perm, L))
        return out
    Lx, Ly = size
    nsub = lattice.nsites // (Lx * Ly)
    for d, (name, n) in enumerate((("Tx", Lx), ("Ty", Ly))):
        if not periodic[d]:
            continue
        perm = []
        for i in range(lattice.nsites):
            s = i % nsub
            cell = i // nsub
            x, y = cell % Lx, cell // Lx
            if d == 0:
                x = (x - 1) % Lx
            else:
                y = (y - 1) % Ly
            perm.append(nsub * (x + Lx * y) + s)
        out.append((name, perm, n))
    return out


def lattice_cells(lattice):
    """``(Lx, Ly, sites per cell)`` of a built-in lattice (site index ``nsub (x + Lx y) + s``),
    which lets the kernels translate by shifting bits; None for custom lattices."""
    if lattice.size is None:
        return None
    if lattice.kind in ("chain", "ladder"):
        return (lattice.size[0], 1, lattice.nsites // lattice.size[0])
    Lx, Ly = lattice.size
    return (Lx, Ly, lattice.nsites // (Lx * Ly))


def _rotation(degrees):
    t = np.radians(degrees)
    return np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]])


_MIRROR_Y = np.array([[1.0, 0.0], [0.0, -1.0]])   # y -> -y

_MIRROR_X = np.array([[-1.0, 0.0], [0.0, 1.0]])   # x -> -x


# point groups of the periodic built-in lattices: (name, generators, irreps), the irreps given
# by their characters on the generators (a rotation, then a mirror).  They act about site 0,
# except on the honeycomb and kagome lattices, whose full point group C6v acts about the centre
# of a hexagon (POINT_GROUP_CENTRES; about a site there would only be C3v and C2v)
POINT_GROUPS = {
    "square": ("C4v", (("C4", _rotation(90)), ("mirror", _MIRROR_Y)),
               {"A1": (1, 1), "A2": (1, -1), "B1": (-1, 1), "B2": (-1, -1)}),
    "rectangular": ("C2v", (("mirror_x", _MIRROR_X), ("mirror_y", _MIRROR_Y)),
                    {"A1": (1, 1), "A2": (-1, -1), "B1": (-1, 1), "B2": (1, -1)}),
    "triangular": ("C6v", (("C6", _rotation(60)), ("mirror", _MIRROR_Y)),
                   {"A1": (1, 1), "A2": (1, -1), "B1": (-1, 1), "B2": (-1, -1)}),
    "honeycomb": ("C6v", (("C6", _rotation(60)), ("mirror", _MIRROR_Y)),
                  {"A1": (1, 1), "A2": (1, -1), "B1": (-1, 1), "B2": (-1, -1)}),
    "kagome": ("C6v", (("C6", _rotation(60)), ("mirror", _MIRROR_Y)),
               {"A1": (1, 1), "A2": (1, -1), "B1": (-1, 1), "B2": (-1, -1)}),
}


# a hexagon next to the cell at the origin
POINT_GROUP_CENTRES = {"kagome": (0.75, np.sqrt(3) / 4), "honeycomb": (1.0, np.sqrt(3) / 3)}


def little_group(lattice, momentum=None):
    """``(name, [(generator name, permutation)], irreps)`` of the point-group operations (about
    site 0; honeycomb and kagome: about a hexagon centre) that fix ``momentum`` (integers m_d,
    k = 2 pi m_d / L_d; None: Gamma), or None.

    Named C{n}v (Cs for a single mirror) or C{n}; the irreps of C{n}v are given on the
    generators (rotation by 360/n degrees, mirror): A1 (+1, +1), A2 (+1, -1), and for even n
    B1 (-1, +1), B2 (-1, -1); Cs: A' (+1), A'' (-1); C2: A (+1), B (-1).
    """
    full = point_group(lattice)
    if full is None:
        return None
    key = lattice.kind if not (lattice.kind == "square" and lattice.size[0] != lattice.size[1]) else "rectangular"
    mats = [m for _, m in POINT_GROUPS[key][1]]
    group = [np.eye(2)]
    frontier = [np.eye(2)]
    while frontier:
        nxt = []
        for g in frontier:
            for m in mats:
                h = m @ g
                if not any(np.allclose(h, x) for x in group):
                    group.append(h)
                    nxt.append(h)
        frontier = nxt
    A = np.array(lattice.vectors, dtype=float).T  # columns a1, a2
    f = np.zeros(2) if momentum is None else np.array(momentum, float) / np.array(lattice.size, float)
    little = []
    for g in group:
        ML = np.linalg.inv(A) @ g @ A
        f2 = np.linalg.inv(ML).T @ f
        d = f2 - f
        if np.allclose(d, np.round(d), atol=1e-9):
            little.append(g)
    rotations = [g for g in little if np.linalg.det(g) > 0]
    mirrors = [g for g in little if np.linalg.det(g) < 0]
    n = len(rotations)
    if n == 1 and not mirrors:
        return None
    gens = []
    if n > 1:
        rot = next(g for g in rotations if np.allclose(g, _rotation(360 / n)))
        gens.append((f"C{n}", rot))
    if mirrors:
        gens.append(("mirror", mirrors[0]))
    if mirrors and n > 1:
        name = f"C{n}v"
        irreps = {"A1": (1, 1), "A2": (1, -1)}
        if n % 2 == 0:
            irreps.update({"B1": (-1, 1), "B2": (-1, -1)})
    elif mirrors:
        name, irreps = "Cs", {"A'": (1,), "A''": (-1,)}
    elif n == 2:
        name, irreps = "C2", {"A": (1,), "B": (-1,)}
    else:
        name = f"C{n}"
        irreps = {f"m{j}": (momentum_character(j, n),) for j in range(n)}
    perms = [(g, _site_map(lattice, m, f"{g} of the {name} little group", POINT_GROUP_CENTRES.get(key)))
             for g, m in gens]
    return name, perms, irreps


def point_group(lattice):
    """``(name, [(generator name, permutation)], irreps)`` of a periodic built-in 2D lattice."""
    if lattice.vectors is None or any(b != "periodic" for b in lattice.boundary):
        return None
    key = lattice.kind
    if key == "square" and lattice.size[0] != lattice.size[1]:
        key = "rectangular"
    if key not in POINT_GROUPS:
        return None
    name, gens, irreps = POINT_GROUPS[key]
    perms = [(g, _site_map(lattice, m, f"{g} of the {name} point group", POINT_GROUP_CENTRES.get(key)))
             for g, m in gens]
    return name, perms, irreps


def _site_map(lattice, matrix, what, centre=None):
    """Permutation of the sites under the linear map ``matrix`` about ``centre`` (default:
    site 0), on the torus."""
    a1, a2 = (np.array(v) for v in lattice.vectors)
    Lx, Ly = lattice.size
    torus = np.array([Lx * a1, Ly * a2]).T  # columns: the periods
    inv = np.linalg.inv(torus)
    pos = lattice.coords - (lattice.coords[0] if centre is None else np.array(centre))
    frac = (inv @ pos.T).T % 1.0
    key = lambda f: tuple(np.round(f % 1.0 * 1e6).astype(np.int64) % 1000000)
    where = {key(f): i for i, f in enumerate(frac)}
    image = (inv @ (matrix @ pos.T)).T
    perm = []
    for i, f in enumerate(image):
        j = where.get(key(f))
        if j is None:
            raise SectorError(f"the {lattice.kind} cluster of size {list(lattice.size)} is not symmetric under "
                              f"{what}: site {i} has no image; use another cluster shape or no point group")
        perm.append(j)
    if sorted(perm) != list(range(lattice.nsites)):
        raise SectorError(f"{what} does not map the {lattice.kind} cluster onto itself")
    return perm


def chain_reflection(lattice):
    """Site ``i -> -i mod L`` of a periodic chain (``L - 1 - i`` of an open one)."""
    L = lattice.nsites
    periodic = lattice.boundary[0] == "periodic"
    return [(-i) % L if periodic else L - 1 - i for i in range(L)]


def momentum_character(m, length):
    """``exp(2 pi i m / length)`` with exact +-1 and +-i."""
    m = int(m) % length
    if (4 * m) % length == 0:
        return [1, 1j, -1, -1j][(4 * m) // length]
    return complex(np.exp(2j * np.pi * m / length))


def bipartition_signs(lattice):
    """eta_i = +-1 on the two sublattices of the nearest-neighbour bonds (all +1 if the bonds do
    not form a bipartite graph): with it particle-hole leaves nearest-neighbour hopping alone."""
    adj = [[] for _ in range(lattice.nsites)]
    for i, j, _ in lattice.bonds.get("nn", []):
        adj[i].append(j)
        adj[j].append(i)
    color = [0] * lattice.nsites
    for start in range(lattice.nsites):
        if color[start]:
            continue
        color[start] = 1
        stack = [start]
        while stack:
            i = stack.pop()
            for j in adj[i]:
                if color[j] == 0:
                    color[j] = -color[i]
                    stack.append(j)
                elif color[j] == color[i]:
                    return tuple([1] * lattice.nsites)
    return tuple(color)
