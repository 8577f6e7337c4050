#!/usr/bin/env python3
"""Per-row cost of the row generator against the number of terms (docs/benchmarks.md).

Two Hamiltonians with the same matrix, so the same rows: the all-pairs XX model on the ring
L = 20, Sz = 0 (380 flip monomials, ~100 non-zeros a row), and the same model with every flip
written as 32 terms, one per configuration of 5 other sites (the projectors S+S- and S-S+ sum
to one): 12160 monomials, i.e. ~10^4 terms.  The generator indexes the monomials by the bits
they need, so the second should cost about as much per row as the first; a third line turns
the index off (one scan over all monomials) to show what it saves.  One rank, warm JIT cache,
median of --repeat assemblies.
"""
import argparse
import itertools
import statistics
import time

import numpy as np

L, GATES = 20, 5


def hamiltonians():
    from fockmpi.models import ops
    small, big = ops.Operator(), ops.Operator()
    for i, j in itertools.combinations(range(L), 2):
        J = 1.0 + 0.01 * (i + 3 * j)
        flip = 0.5 * J * (ops.Sp(i) * ops.Sm(j) + ops.Sm(i) * ops.Sp(j))
        small += flip + 0.3 * ops.Sz(i) * ops.Sz(j)
        gates = [k for k in itertools.chain(range(j + 1, L), range(L)) if k not in (i, j)][:GATES]
        for pattern in itertools.product((0, 1), repeat=GATES):
            term = flip
            for k, up in zip(gates, pattern):
                term = term * (ops.Sp(k) * ops.Sm(k) if up else ops.Sm(k) * ops.Sp(k))
            big += term
        big += 0.3 * ops.Sz(i) * ops.Sz(j)
    return small, big


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeat", type=int, default=5)
    a = p.parse_args()
    from mpi4py import MPI

    from fockmpi import runtime
    from fockmpi.operator.assemble import assemble_hamiltonian
    from fockmpi.basis.sector import Sector
    from fockmpi.basis.u1 import U1Basis
    from fockmpi.operator.compile import _index_by_condition, compile_operator
    from fockmpi.models.space import Space
    comm = MPI.COMM_WORLD
    PETSc, _ = runtime.init("real")
    space = Space.uniform("spin", L)
    sector = Sector(space, {"Sz": 0})
    basis = U1Basis(sector)
    small, big = hamiltonians()
    cases = {"380 monomials": compile_operator(small, space, sector.names),
             "12160 monomials": compile_operator(big, space, sector.names)}
    flat = compile_operator(big, space, sector.names)
    bitwise = [tuple(int(x) for x in m) + (c,) for m, c in zip(flat.bit_masks, flat.bit_coef)]
    flat.grp_ptr, flat.grp_mask, flat.grp_scan, flat.ngdiag = _index_by_condition(bitwise, flat.nbdiag, 10 ** 9)
    cases["12160, no index"] = flat
    x = None
    print(f"L = {L}, Sz = 0: {basis.dim} rows")
    print(f"{'case':<18}{'monomials':>10}{'groups':>8}{'nnz/row':>9}{'ns/row':>10}{'ratio':>7}")
    first = None
    for name, c in cases.items():
        seconds = []
        for k in range(a.repeat + 1):
            t0 = time.perf_counter()
            op = assemble_hamiltonian(c, basis, comm, PETSc, show_progress=False)
            if k:
                seconds.append(time.perf_counter() - t0)
            if k < a.repeat:
                op.destroy()
        if x is None:
            x = op.mat.createVecRight()
            x.setArray(np.random.default_rng(1).standard_normal(basis.dim))
            y0 = op.mat.createVecLeft()
            op.mat.mult(x, y0)
        y = op.mat.createVecLeft()
        op.mat.mult(x, y)
        y.axpy(-1.0, y0)
        assert y.norm() < 1e-10 * y0.norm(), f"{name}: not the same matrix"
        ns = statistics.median(seconds) / basis.dim * 1e9
        first = first or ns
        print(f"{name:<18}{c.nmonomials:>10}{len(c.grp_mask):>8}{op.nnz_global / basis.dim:>9.1f}{ns:>10.0f}"
              f"{ns / first:>7.2f}", flush=True)
        op.destroy()


if __name__ == "__main__":
    main()
