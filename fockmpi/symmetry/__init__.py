"""Lattice symmetries: groups and their characters (group), how elements act on packed states
(encoding), the symmetries of lattices (lattice), and the checks that H and the sector are
invariant (invariance)."""
