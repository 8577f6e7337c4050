"""Ranking tables against brute force, block partitions over virtual ranks."""
import numpy as np
import pytest
from dense_matrices import all_sectors
from hypothesis import given, settings
from hypothesis import strategies as st

from fockmpi.basis.ranking import sector_dimension
from fockmpi.basis.sector import Sector
from fockmpi.basis.u1 import U1Basis
from fockmpi.errors import SectorError
from fockmpi.parallel import block_offsets
from fockmpi.models.space import LocalSpace, Space

local_spaces = st.sampled_from([LocalSpace("spin"), LocalSpace("fermion"), LocalSpace("electron"),
                                LocalSpace("boson", 1), LocalSpace("boson", 2), LocalSpace("boson", 5)])


def brute_force(space, sector):
    """The sector's states in the documented order (docs/conventions.md, "Basis order"): ascending,
    but on a lattice of electron sites (more than one) ascending in the word of all up modes
    above all down modes, (up configuration << L) | down configuration."""
    allst = np.arange(2 ** space.nbits, dtype=np.uint64)
    loc = space.decode(allst)
    ok = (loc < space.dims).all(axis=1)
    for name, value in sector.internal.items():
        table = space.charge_table(name)
        q = table[np.arange(space.nsites), np.minimum(loc, space.dims - 1)].sum(axis=1)
        ok &= q == value
    states = allst[ok]
    L = space.nsites
    if L > 1 and all(s.kind == "electron" for s in space.sites):
        up = sum(((states >> np.uint64(2 * i)) & np.uint64(1)) << np.uint64(i) for i in range(L))
        dn = sum(((states >> np.uint64(2 * i + 1)) & np.uint64(1)) << np.uint64(i) for i in range(L))
        states = states[np.argsort((up << np.uint64(L)) | dn, kind="stable")]
    return states


@settings(max_examples=40, deadline=None)
@given(st.lists(local_spaces, min_size=1, max_size=6), st.integers(1, 4), st.data())
def test_ranking_matches_brute_force(sites, size, data):
    space = Space(sites)
    names = [n for n in ("N", "Sz", "N_up") if n in space.charge_names()]
    chosen = data.draw(st.lists(st.sampled_from(names), unique=True, max_size=2)) if names else []
    sectors = all_sectors(space, chosen) if chosen else [Sector(space, {})]
    sector = data.draw(st.sampled_from(sectors))
    ref = brute_force(space, sector)
    parts = [U1Basis(sector, r, size) for r in range(size)]
    assert parts[0].dim == len(ref) == sector_dimension(sector)
    assert np.array_equal(np.concatenate([p.states for p in parts]), ref)
    allst = np.arange(2 ** space.nbits, dtype=np.uint64)
    expected = np.full(len(allst), -1)
    expected[ref.astype(np.int64)] = np.arange(len(ref))
    assert np.array_equal(parts[0].index_of(allst), expected)
    # scattered indices, in any order, unrank to the brute-force states
    picks = np.array(data.draw(st.lists(st.integers(0, len(ref) - 1), max_size=20)), dtype=np.int64)
    assert np.array_equal(parts[0].tables.states_at(picks), ref[picks])


def test_small_chunks_are_used_for_large_sites(monkeypatch):
    import fockmpi.basis.ranking as b
    monkeypatch.setattr(b, "MAX_CHUNK_BITS", 3)  # force many chunks
    space = Space.uniform("electron", 4)
    sector = Sector(space, {"N_up": 2, "N_dn": 1})
    basis = U1Basis(sector)
    assert len(basis.tables.chunk_off) == 3  # 8 modes (electrons are numbered by mode) in chunks of 3 bits
    assert np.array_equal(basis.states, brute_force(space, sector))


def test_block_offsets_balanced():
    assert list(block_offsets(10, 3)) == [0, 4, 7, 10]
    assert list(block_offsets(2, 3)) == [0, 1, 2, 2]


@pytest.mark.parametrize("space, charges, message", [
    (Space.uniform("spin", 5), {"Sz": 0}, "half-integer"),
    (Space.uniform("spin", 4), {"Sz": 3}, "ranges from -2 to 2"),
    (Space.uniform("spin", 4), {"Sz": 0.25}, "half-integer or integer"),
    (Space.uniform("electron", 3), {"N": 7}, "ranges from 0 to 6"),
    (Space.uniform("electron", 3), {"N": 3, "Sz": 1}, "parity"),
    (Space.uniform("electron", 3), {"N": 2, "N_up": 1, "N_dn": 0}, "contradict"),
    (Space.uniform("boson", 3, nmax=2), {"N": 7}, "ranges from 0 to 6"),
    (Space.uniform("fermion", 3), {"Sz": 0}, "not defined"),
])
def test_impossible_sectors_are_explained(space, charges, message):
    with pytest.raises(SectorError, match=message):
        U1Basis(Sector(space, charges))
