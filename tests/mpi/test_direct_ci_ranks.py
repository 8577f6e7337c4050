"""The direct-CI operator on 1, 2 and 3 ranks: its product equals the generic stored matrix on the
same determinant basis (ghost rows gathered from other ranks, sigma added back, rounds of alpha
strings), and a whole FCIDUMP solve gives the same energies on any number of ranks."""
import os
import sys

import numpy as np
from test_pipeline import all_ok

import fockmpi

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from random_integrals import random_dump  # noqa: E402
from test_direct_ci import CASES  # noqa: E402


def test_direct_ci_product_on_ranks(comm):
    from test_direct_ci import products
    rt = fockmpi.Runtime.start("real")
    for case in CASES:
        err, scale, rounds = products(rt, *case)
        all_ok(comm, err <= 1e-12 * scale, f"case {case}: |direct - stored| = {err} of {scale}")


def test_direct_ci_energies_do_not_depend_on_the_ranks(comm):
    from fockmpi.models.chemistry import fcidump
    rt = fockmpi.Runtime.start("real")
    model = fcidump(random_dump(6, 6, 0, orbsym=(1, 2, 1, 2, 3, 4), seed=5))
    model.orbitals.irrep = 1
    found = fockmpi.solve(model, {"N_up": 3, "N_dn": 3}, nev=3, runtime=rt, tol=1e-12)
    model.orbitals = None  # the generic path on the constrained basis
    reference = fockmpi.solve(model, {"N_up": 3, "N_dn": 3}, nev=3, runtime=rt, tol=1e-12)
    all_ok(comm, found.storage == "direct-ci", found.storage)
    all_ok(comm, np.allclose(found.eigenvalues[:3], reference.eigenvalues[:3], atol=1e-9),
           f"{found.eigenvalues} {reference.eigenvalues}")


def test_direct_ci_traffic_equals_the_count_from_the_strings(comm):
    """Each product fetches the rows (all beta strings) of the alpha strings one excitation away
    from this rank's own that other ranks hold, and sends their partial sums back: counted here
    from the bits of the strings (popcount of a ^ a' <= 2), no symmetry, one round."""
    from math import comb

    from fockmpi.basis.determinants import DeterminantBasis
    from fockmpi.basis.sector import Sector
    from fockmpi.models.space import Space
    from fockmpi.operator.direct_ci import DirectCIOperator
    rt = fockmpi.Runtime.start("real")
    norb, na, nb = 7, 3, 2
    basis = DeterminantBasis(Sector(Space.uniform("electron", norb), {"N_up": na, "N_dn": nb}), comm)
    op = DirectCIOperator(random_dump(norb, na + nb, na - nb, None, 4), basis, comm, rt.PETSc)
    ranges = comm.allgather((basis.alpha_lo, basis.alpha_hi))
    strings = [int(s) for s in basis.alpha_strings]
    lo, hi = basis.alpha_lo, basis.alpha_hi
    reached = {j for i in range(lo, hi) for j in range(len(strings))
               if not lo <= j < hi and bin(strings[i] ^ strings[j]).count("1") <= 2}
    owners = {r for j in reached for r, (a, b) in enumerate(ranges) if a <= j < b}
    want = (2 * len(reached) * comb(norb, nb), 2 * len(owners))
    got = (op.traffic.values, op.traffic.messages)
    all_ok(comm, len(op.rounds) == 1 and got == want, f"direct CI traffic {got}, counted {want}")
    all_ok(comm, comm.size == 1 or comm.allreduce(got[0]) > 0, "several ranks move nothing")
    op.destroy()
