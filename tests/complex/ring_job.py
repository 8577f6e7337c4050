"""The job text the complex-build tests start from: a chain of {L} sites, one model, one sector,
a tight ground-state solve, then {entries} (spectra, observables, an [evolution] table)."""

RING = """
[lattice]
type = "chain"
size = [{L}]
[model]
type = "{model}"
{couplings}
[sector]
{sector}
[solver]
nev = 1
tol = 1e-12
{entries}
"""
