"""Sectors of conserved charges: fixed values of U(1) charges, and Z2 parities exp(i pi Q) of a charge."""
import numpy as np

from ..errors import SectorError
from ..models.space import CHARGE_SCALE

PARITY_SUFFIX = "_parity"


class Sector:
    """Fixed values of U(1) charges, e.g. ``Sector(space, {"Sz": 0})``.  Not collective.

    Parameters
    ----------
    space : Space
    charges : dict
        Charge name -> value in physical units (``Sz`` may be half-integer).  For electrons
        any consistent subset of ``N``, ``N_up``, ``N_dn``, ``Sz`` is accepted and reduced to
        independent charges.  ``Q_parity`` -> +1 or -1 fixes the Z2 parity ``exp(i pi Q)`` of a
        charge Q whose value is not fixed (``N_exc_parity = 1`` for the Rabi and Dicke
        models: an even number of excitations).  An empty dict means the whole space.
    """

    def __init__(self, space, charges=None):
        self.space = space
        self.values = dict(charges or {})
        self.internal = {}
        self.parities = {}
        for name, value in self.values.items():
            if name.endswith(PARITY_SUFFIX):
                self._add_parity(name, value)
                continue
            table = space.charge_table(name)  # raises for unknown names
            del table
            scaled = value * CHARGE_SCALE.get(name, 1)
            if abs(scaled - round(scaled)) > 1e-9:
                unit = "half-integer or integer" if name == "Sz" else "integer"
                raise SectorError(f"[sector] {name} = {value}: expected an {unit} value")
            self.internal[name] = int(round(scaled))  # noqa: RUF046 - numpy scalars round to floats
        self._reduce_electrons()
        self._check_ranges()

    def _add_parity(self, key, value):
        name = key[:-len(PARITY_SUFFIX)]
        if name not in self.space.charge_names():
            raise SectorError(f"[sector] {key}: {name!r} is not a charge of {self.space.describe()} "
                              f"(charges: {', '.join(self.space.charge_names())})")
        if isinstance(value, bool) or value not in (1, -1):
            raise SectorError(f"[sector] {key} = {value!r}: expected 1 (even {name}) or -1 (odd {name})")
        if CHARGE_SCALE.get(name, 1) != 1:
            raise SectorError(f"[sector] {key}: the parity of {name} is not a Z2 charge here (half-integer "
                              "values); use the parity of an integer charge such as N_exc")
        if name in self.values:
            raise SectorError(f"[sector] {key} and {name} both given: fixing {name} fixes its parity")
        self.parities[name] = int(value)

    def parity_filter(self):
        """None without parities; else a vectorized ``states (packed uint64) -> bool`` that is
        true where every fixed parity holds (what a constrained basis keeps).  Not collective."""
        if not self.parities:
            return None
        space = self.space
        tables = {name: space.charge_table(name) for name in self.parities}
        offsets = [np.uint64(o) for o in space.offsets]
        masks = [np.uint64((1 << s.nbits) - 1) for s in space.sites]
        wanted = {name: 0 if sign == 1 else 1 for name, sign in self.parities.items()}

        def parity(states):
            ok = np.ones(len(states), dtype=np.bool_)
            for name, table in tables.items():
                q = np.zeros(len(states), dtype=np.int64)
                for i in range(space.nsites):  # a loop over sites, vectorized over states
                    q += table[i][((states >> offsets[i]) & masks[i]).astype(np.int64)]
                ok &= (q & 1) == wanted[name]
            return ok

        parity.__name__ = ",".join(f"{n}{PARITY_SUFFIX}={v:+d}" for n, v in sorted(self.parities.items()))
        return parity

    def _reduce_electrons(self):
        """N, N_up, N_dn, Sz of electrons are not independent: keep an independent subset."""
        q = self.internal
        if not {"N_up", "N_dn", "N", "Sz"} & set(q) or "N_up" not in self.space.charge_names() \
                or any(s.kind in ("spin", "fermion") for s in self.space.sites):
            return  # N and Sz count other sites too: they are independent of N_up, N_dn
        up, dn = q.get("N_up"), q.get("N_dn")
        if up is None and dn is not None and "N" in q:
            up = q["N"] - dn
        if dn is None and up is not None and "N" in q:
            dn = q["N"] - up
        if up is None and dn is not None and "Sz" in q:
            up = q["Sz"] + dn
        if dn is None and up is not None and "Sz" in q:
            dn = up - q["Sz"]
        if up is None and dn is None and "N" in q and "Sz" in q:
            if (q["N"] + q["Sz"]) % 2:
                raise SectorError(f"[sector] N = {self.values['N']} and Sz = {self.values['Sz']} are "
                                  "incompatible: 2 Sz must have the parity of N")
            up, dn = (q["N"] + q["Sz"]) // 2, (q["N"] - q["Sz"]) // 2
        if up is None or dn is None:
            return
        for name, value in (("N", up + dn), ("Sz", up - dn)):
            if name in q and q[name] != value:
                raise SectorError(f"[sector] values {self.values} contradict each other "
                                  f"({name} would have to be {value / CHARGE_SCALE[name]:g})")
        self.internal = {"N_up": up, "N_dn": dn}

    def _check_ranges(self):
        space = self.space
        nsites = space.nsites
        for name, value in self.internal.items():
            table = space.charge_table(name)
            lo = sum(int(table[i, :s.dim].min()) for i, s in enumerate(space.sites))
            hi = sum(int(table[i, :s.dim].max()) for i, s in enumerate(space.sites))
            scale = CHARGE_SCALE.get(name, 1)
            if not lo <= value <= hi:
                raise SectorError(f"[sector] {name} = {value / scale:g} is impossible: on {nsites} "
                                  f"{'/'.join(space.kinds)} sites {name} ranges from {lo / scale:g} "
                                  f"to {hi / scale:g}")
            twice_s = sum(s.dim - 1 for s in space.sites if s.kind == "spin")
            if name == "Sz" and space.kinds == ["spin"] and (value - twice_s) % 2:
                what = (f"{nsites} spin-1/2 sites" if twice_s == nsites else f"sites of {space.describe()}")
                raise SectorError(f"[sector] Sz = {value / 2:g} is impossible on {what}: "
                                  f"Sz must be {'half-integer' if twice_s % 2 else 'integer'} "
                                  f"(e.g. Sz = {0.5 if twice_s % 2 else 0})")

    @property
    def names(self):
        return sorted(self.internal)

    def label(self):
        """Human-readable label such as ``Sz=0``, ``N_up=6,N_dn=6`` or ``N_exc_parity=+1``."""
        parts = [f"{k}={v / CHARGE_SCALE.get(k, 1):g}" for k, v in sorted(self.internal.items())]
        parts += [f"{k}{PARITY_SUFFIX}={v:+d}" for k, v in sorted(self.parities.items())]
        return ",".join(parts) or "full space"

    def physical_values(self):
        """The independent charges in physical units, ``{name: value}`` (and parities, ``{Q_parity: +-1}``)."""
        out = {k: v / CHARGE_SCALE.get(k, 1) for k, v in sorted(self.internal.items())}
        out.update({k + PARITY_SUFFIX: v for k, v in sorted(self.parities.items())})
        return out
