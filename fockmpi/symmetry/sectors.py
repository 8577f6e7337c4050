"""Symmetry sectors of a lattice as generators with characters: what ``[sector]`` of a job file
says, as a Python constructor.

``symmetry_sectors(lattice, momentum=0, reflection=1, spin_flip=1)`` returns every combination
of labels asked for, each a list of :class:`~fockmpi.symmetry.group.Generator` (one list
unless a value is ``"all"``); a list makes a group with ``SymmetryGroup(nsites, generators,
lattice_cells(lattice), space)``.  Conventions of the labels: docs/conventions.md.
"""
import itertools

from ..errors import ConfigError, SectorError, did_you_mean
from .group import Generator, element_order
from .lattice import (
    bipartition_signs,
    chain_reflection,
    little_group,
    momentum_character,
    point_group,
    translation_generators,
)

SYMMETRY_KEYS = ("momentum", "reflection", "point_group", "spin_flip", "particle_hole", "symmetry")
SIGNS = (1, -1)


def symmetry_sectors(lattice, momentum=None, reflection=None, point_group_irrep=None, spin_flip=None,
                     particle_hole=None, permutations=(), key=None):
    """Every combination of symmetry labels asked for, as lists of generators.  Not collective.

    Parameters
    ----------
    lattice : Lattice
    momentum : int, list of int (one per periodic direction, ``k_d = 2 pi m_d / L_d``) or "all";
        an entry of the list may be "all"
    reflection : +1, -1 or "all"  (chains: the mirror i -> L-1-i)
    point_group_irrep : an irrep name of the little group at the momentum ("A1", ...) or "all"
    spin_flip, particle_hole : +1, -1 or "all"
    permutations : ``(name, permutation, spin_flip, sector)`` tuples of further generators
        (entry i of the permutation = image of site i; sector m: eigenvalue exp(2 pi i m / order),
        or "all")
    key : how errors name a label (``key("momentum")``; a job file says "[sector] momentum",
        and ``key(("symmetry", k, "permutation"))`` for a further generator)

    Returns
    -------
    list of lists of Generator (one list when nothing is "all"; ``[[]]`` without symmetries)
    """
    if key is None:
        def key(name):
            return name if isinstance(name, str) else f"permutations[{name[1]}] {name[2]}"
    options = []  # per label: the alternatives, each a list of generators

    def signs(name, value):
        if value == "all":
            return list(SIGNS)
        if isinstance(value, bool) or value not in SIGNS:
            raise ConfigError(key(name), "one of 1, -1 or \"all\"", value)
        return [int(value)]

    momenta = [None]  # alternatives: (generators, momentum integers)
    if momentum is not None:
        trans = translation_generators(lattice)
        if not trans:
            raise ConfigError(key("momentum"), message=f"{key('momentum')}: this lattice has no periodic "
                              "direction, so no momentum", hint="use boundary = \"periodic\" or a "
                              "[[sector.symmetry]] with an explicit permutation")
        raw = momentum
        value = ["all"] * len(trans) if raw == "all" else list(raw) if isinstance(raw, (list, tuple)) else [raw]
        if len(value) != len(trans) or any(isinstance(m, bool) or not (isinstance(m, int) or m == "all")
                                           for m in value):
            raise ConfigError(key("momentum"), f"a list of {len(trans)} integer(s) m (k = 2 pi m / L), one "
                              f"per periodic direction ({', '.join(n for n, _, _ in trans)}), or \"all\"", raw)
        ranges = [range(n) if m == "all" else [m % n] for (_, _, n), m in zip(trans, value)]
        momenta = [([Generator(name, tuple(perm), False, momentum_character(x, n), x)
                     for (name, perm, n), x in zip(trans, ms)], list(ms)) for ms in itertools.product(*ranges)]
    if reflection is not None:
        if lattice.kind != "chain":
            raise ConfigError(key("reflection"), message=f"{key('reflection')}: built-in reflections exist "
                              f"for chains only so far, not for {lattice.kind}", hint="use point_group on 2D "
                              "lattices, or give the mirror as a [[sector.symmetry]] permutation")
        perm = tuple(chain_reflection(lattice))
        options.append([[Generator("reflection", perm, False, p, p)] for p in signs("reflection", reflection)])
    point = point_group_irrep
    if point is not None:
        if point_group(lattice) is None:
            raise ConfigError(key("point_group"), message=f"{key('point_group')}: no built-in point group for "
                              f"a {lattice.kind} lattice with {'/'.join(lattice.boundary or ['custom'])} boundaries",
                              hint="give its generators as [[sector.symmetry]] permutations")
        if not isinstance(point, str):
            raise ConfigError(key("point_group"), "an irrep name such as \"A1\", or \"all\"", point)
    if spin_flip is not None:
        options.append([[Generator("spin_flip", None, True, f, f)] for f in signs("spin_flip", spin_flip)])
    if particle_hole is not None:
        eta = bipartition_signs(lattice)
        options.append([[Generator("particle_hole", None, False, c, c, particle_hole=True, eta=eta)]
                        for c in signs("particle_hole", particle_hole)])
    for k, (name, perm, flip, sector) in enumerate(permutations):
        perm = list(perm)
        if any(isinstance(x, bool) or not isinstance(x, int) for x in perm) or \
                len(perm) != lattice.nsites or sorted(perm) != list(range(lattice.nsites)):
            raise ConfigError(key(("symmetry", k, "permutation")), f"a permutation of the sites "
                              f"0..{lattice.nsites - 1} (entry i = image of site i)", perm)
        perm = tuple(int(x) for x in perm)
        order = element_order(perm, bool(flip))
        if sector != "all" and (isinstance(sector, bool) or not isinstance(sector, int)):
            raise ConfigError(key(("symmetry", k, "sector")), "an integer m (eigenvalue exp(2 pi i m / order)) "
                              "or \"all\"", sector)
        ms = range(order) if sector == "all" else [sector % order]
        options.append([[Generator(name, perm, bool(flip), momentum_character(m, order), m)] for m in ms])
    choices = []
    for mom in momenta:
        gens0, ms = mom if mom is not None else ([], None)
        alternatives = [gens0]
        if point is not None:
            little = little_group(lattice, ms)
            if little is None:
                if point != "all":
                    raise SectorError(f"{key('point_group')}: no point-group operation fixes the momentum {ms}")
            else:
                name, perms, irreps = little
                if point != "all" and point not in irreps:
                    raise ConfigError(key("point_group"), f"an irrep of the little group {name} at momentum "
                                      f"{ms if ms is not None else 'Gamma'}: one of {', '.join(map(repr, irreps))}",
                                      point, hint=did_you_mean(point, list(irreps)))
                names = list(irreps) if point == "all" else [point]
                alternatives = [gens0 + [Generator(gname, tuple(perm), False, chi, chi, irrep=(name, irrep))
                                         for (gname, perm), chi in zip(perms, irreps[irrep])] for irrep in names]
        choices.extend(alternatives)
    for alternatives in options:
        choices = [c + alt for c in choices for alt in alternatives]
    return choices
