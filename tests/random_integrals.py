"""Random real integrals with the 8-fold symmetry of real orbitals (a test helper that uses
nothing of fockmpi but its FCIDump container): h symmetric, (pq|rs) = (qp|rs) = (pq|sr) = (rs|pq);
with ``orbsym``, every integral whose irreps multiply to no A1 is zero."""
import numpy as np


def random_integrals(norb, orbsym=None, seed=1):
    rng = np.random.default_rng(seed)
    h = rng.normal(size=(norb, norb))
    h = h + h.T
    eri = rng.normal(size=(norb,) * 4)
    eri = eri + eri.transpose(1, 0, 2, 3)
    eri = eri + eri.transpose(0, 1, 3, 2)
    eri = eri + eri.transpose(2, 3, 0, 1)
    if orbsym is not None:
        s = np.array(orbsym) - 1
        h *= (s[:, None] ^ s[None, :]) == 0
        eri *= (s[:, None, None, None] ^ s[None, :, None, None] ^ s[None, None, :, None] ^ s[None, None, None, :]) == 0
    return h, eri


def random_dump(norb, nelec, ms2, orbsym=None, seed=1, ecore=0.7):
    from fockmpi.models.chemistry import FCIDump
    h, eri = random_integrals(norb, orbsym, seed)
    return FCIDump("random", norb, nelec, ms2, None if orbsym is None else tuple(orbsym), 1, h, eri, ecore)
