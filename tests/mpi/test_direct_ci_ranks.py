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
