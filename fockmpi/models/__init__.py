"""The model stage: local spaces (space), the operator algebra (ops), lattices (lattice) and the named
Hamiltonians as Python constructors (named): ``fockmpi.models.hubbard(lattice, t=1, U=4)``."""
from .lattice import Lattice, custom_lattice, make_lattice
from .named import Model, bose_hubbard, custom, heisenberg, hubbard, tfim, tV
from .ops import Operator
from .space import Space

__all__ = ["Lattice", "Model", "Operator", "Space", "bose_hubbard", "custom", "custom_lattice", "heisenberg",
           "hubbard", "make_lattice", "tV", "tfim"]
