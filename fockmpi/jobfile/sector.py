"""[sector] of a job file -> the U(1) sector and every combination of symmetry generators asked
for (:func:`fockmpi.symmetry.sectors.symmetry_sectors` does the work; this reads the keys)."""
from ..basis.sector import PARITY_SUFFIX, Sector
from ..errors import ConfigError, did_you_mean
from ..symmetry.sectors import SYMMETRY_KEYS, symmetry_sectors
from .table import Table


def sector_from_table(t: Table, space):
    """Read the charges of ``[sector]``: charge name -> value.  Not collective."""
    names = space.charge_names()
    values = {}
    for key in t.data:
        if key in SYMMETRY_KEYS:
            continue
        if key.endswith(PARITY_SUFFIX) and key[:-len(PARITY_SUFFIX)] in names:
            values[key] = t.get(key, "int", choices=(1, -1))
            continue
        if key not in names:
            raise ConfigError(t.key(key), message=f"{t.key(key)}: not a charge of {space.describe()}",
                              hint=did_you_mean(key, list(names) + list(SYMMETRY_KEYS))
                              or f"charges: {', '.join(names) or 'none'} (or the parity of one, such as "
                              f"{names[0] if names else 'N'}{PARITY_SUFFIX} = 1); symmetries: {', '.join(SYMMETRY_KEYS)}")
        values[key] = t.get(key, "float")
    return Sector(space, values)


def sector_choices(t: Table, lattice):
    """Read the symmetry labels of ``[sector]``: every combination asked for, as lists of
    generators (one list when nothing is ``"all"``).  The values are checked where they are
    used, by :func:`~fockmpi.symmetry.sectors.symmetry_sectors`, with this table's key names.
    Not collective."""
    def raw(name):
        t.used.add(name)
        return t.data.get(name)

    entries = []
    for k, entry in enumerate(t.get("symmetry", "list", [])):
        e = Table(entry, f"[[sector.symmetry]] #{k + 1}")
        perm = e.get("permutation", "list")
        flip = e.get("spin_flip", "bool", False)
        name = e.get("name", "str", f"symmetry{k + 1}")
        sector = "all" if e.data.get("sector") == "all" else e.get("sector", "int", 0)
        e.used.add("sector")
        e.finish()
        entries.append((name, perm, flip, sector))

    def key(name):
        if isinstance(name, str):
            return t.key(name)
        return f"[[sector.symmetry]] #{name[1] + 1} {name[2]}"

    return symmetry_sectors(lattice, momentum=raw("momentum"), reflection=raw("reflection"),
                            point_group_irrep=raw("point_group"), spin_flip=raw("spin_flip"),
                            particle_hole=raw("particle_hole"), permutations=entries, key=key)
