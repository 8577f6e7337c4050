"""The model stage: local spaces (space), the operator algebra (ops), lattices (lattice) and the named
Hamiltonians as Python constructors (named; light-matter models in cavity):
``fockmpi.models.hubbard(lattice, t=1, U=4)``, ``fockmpi.models.rabi(nmax=40, g=0.5)``."""
from .cavity import dicke, jaynes_cummings, rabi, tavis_cummings
from .gauge import schwinger, schwinger_ring, schwinger_spins
from .lattice import Lattice, custom_lattice, make_lattice
from .named import Model, bose_hubbard, custom, heisenberg, holstein, hubbard, hubbard_holstein, rydberg, tfim, tV
from .ops import Operator
from .space import LocalSpace, Space

__all__ = ["Lattice", "LocalSpace", "Model", "Operator", "Space", "bose_hubbard", "custom", "custom_lattice", "dicke",
           "heisenberg", "holstein", "hubbard", "hubbard_holstein", "jaynes_cummings", "make_lattice", "rabi",
           "rydberg", "schwinger", "schwinger_ring", "schwinger_spins", "tV", "tavis_cummings", "tfim"]
