"""[lattice] of a job file -> a Lattice."""
from ..models.lattice import LATTICE_TYPES, custom_lattice, make_lattice
from .table import Table


def lattice_from_table(t: Table):
    """Read ``[lattice]``.  Not collective."""
    kind = t.get("type", "str", choices=LATTICE_TYPES)
    if kind == "custom":
        nsites = t.get("sites", "int", check=(lambda v: v > 0, "> 0"))
        bonds = t.get("bonds", "table", default={})
        lat = custom_lattice(nsites, bonds)
    else:
        if "size" not in t:
            t.require("size", f"a list of {'one' if kind in ('chain', 'ladder') else 'two'} positive integer(s) "
                              f"(cells per direction), such as {[8] if kind in ('chain', 'ladder') else [4, 4]}")
        size = t.get("size", "list") if isinstance(t.data.get("size"), list) else [t.get("size", "int")]
        boundary = t.data.get("boundary", "periodic")
        t.used.add("boundary")
        lat = make_lattice(kind, size, boundary)
    t.finish()
    return lat
