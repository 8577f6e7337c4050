"""scaling/model.py: the traffic it samples from the basis and H equals, when the sample is the
whole block, the count made from a dense Hamiltonian (built here from the bits) and the block's
rows; its fit recovers the costs of synthetic measurements."""
import os
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "scaling"))
import model  # noqa: E402

L = 12


def dense_ring():
    """H = sum_i S_i . S_i+1 on the Sz = 0 states of the ring, ascending as integers (bit i: site
    i up), built here from the bits: S^z S^z on the diagonal, (S^+ S^- + h.c.)/2 flipping an
    anti-aligned bond."""
    states = [s for s in range(1 << L) if bin(s).count("1") == L // 2]
    index = {s: k for k, s in enumerate(states)}
    H = np.zeros((len(states), len(states)))
    for k, s in enumerate(states):
        for i in range(L):
            j = (i + 1) % L
            a, b = (s >> i) & 1, (s >> j) & 1
            H[k, k] += 0.25 if a == b else -0.25
            if a != b:
                H[index[s ^ (1 << i) ^ (1 << j)], k] += 0.5
    return H


@pytest.mark.parametrize("ranks", [2, 3, 5])
def test_sampled_traffic_of_a_whole_block_equals_the_dense_count(ranks):
    from fockmpi.parallel import block_offsets
    _, tables, terms = model.load(model.TARGETS["heisenberg_ring40"][0].replace("[40]", f"[{L}]"))
    H = dense_ring()
    offsets = block_offsets(len(H), ranks)
    for p in range(ranks):
        lo, hi = int(offsets[p]), int(offsets[p + 1])
        got = model.sample_block(tables, terms, lo, hi, offsets, runs=1, run_length=hi - lo)
        rows = np.abs(H[lo:hi]) > 1e-14
        np.fill_diagonal(rows[:, lo:hi], True)  # (the diagonal is stored even where it vanishes)
        cols = np.flatnonzero(rows.any(axis=0))
        ghosts = cols[(cols < lo) | (cols >= hi)]
        owners = np.unique(np.searchsorted(offsets, ghosts, side="right") - 1)
        assert got["rows"] == hi - lo and got["nnz"] == pytest.approx(rows.sum())
        assert got["ghosts"] == pytest.approx(len(ghosts)) and got["messages"] == len(owners)


def test_fit_recovers_the_costs_of_synthetic_points():
    eta, c_ghost, c_msg = 0.6, 4e-9, 3e-6
    points = []
    for R in (1, 2, 4, 8, 16):
        rows = [1e6 / R] * R
        nnz = [13e6 / R] * R
        ghosts = [0.0] * R if R == 1 else [3e5 * (1 + np.log2(R)) / R] * R
        messages = [0] * R if R == 1 else [min(R - 1, 6)] * R
        triad = 20.0 if R == 1 else 36.0
        m = min(R, 2)
        by = (12 * sum(nnz) + 16 * sum(rows) + 8 * sum(ghosts)) if R > 2 else \
            max(12 * z + 16 * r + 8 * g for z, r, g in zip(nnz, rows, ghosts)) * m
        t = by / (eta * triad * 1e9) + c_ghost * sum(ghosts) / m + c_msg * sum(messages) / m
        points.append({"ranks": R, "rows": rows, "nnz": nnz, "ghosts": ghosts, "messages": messages,
                       "triad_GBps": triad, "per_product_s": t, "rest_per_step_s": 0.01})
    found = model.fit(points, cores=2)
    assert found["eta"] == pytest.approx(eta, rel=1e-6)
    assert found["c_ghost_s"] == pytest.approx(c_ghost, rel=1e-5) and found["c_msg_s"] == pytest.approx(c_msg, rel=1e-5)
