"""Keyed random streams with one slot per customer (common random numbers).

Every random number in a simulation is addressed by *what it is for* (a purpose such as
``"quality"`` or ``"routing"``), by counters such as the day and the hop within the day, and by
the customer's row (its *slot*). The same address always gives the same number, whatever else
happened in the run. That is what makes

* a run reproducible bit for bit, whatever the number of workers;
* a strategy that changes nothing reproduce the baseline exactly;
* a strategy that changes one touchpoint leave every unrelated draw alone, so that paired
  differences between strategies carry far less noise (common random numbers).

The idea of slots comes from Starsim. The numbers come from a counter-based generator: the
address is hashed into a 64-bit stream key (the seed through ``numpy.random.SeedSequence``, the
purpose and the counters folded in, then the SplitMix64 mixer), and slot ``i`` of the stream is
the ``i``-th output of SplitMix64 seeded with that key (Steele, Lea & Flood 2014, "Fast
splittable pseudorandom number generators"), whose outputs pass BigCrush. Drawing for ``k``
customers costs ``O(k)``, not ``O(population)``: only customers with something happening today
pay for randomness.
"""

from __future__ import annotations

import zlib

import numba
import numpy as np
from llvmlite import binding
from numba import types
from numba.extending import get_cython_function_address

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MUL1 = np.uint64(0xBF58476D1CE4E5B9)
_MUL2 = np.uint64(0x94D049BB133111EB)
_TO_UNIT = 2.0**-53


@numba.njit(cache=True, inline="always")
def slot_uniform(slot: int, serial: int, key: np.uint64) -> float:  # pragma: no cover - compiled
    """One slot's uniform: SplitMix64 at state (slot | serial << 32 + 1)·golden + key, its top
    53 bits centred in (0, 1) (uint64 arithmetic wraps). For compiled code that draws for one
    customer at a time; key from :meth:`Streams.key`."""
    z = np.uint64(slot) | (np.uint64(serial) << np.uint64(32))
    z = (z + np.uint64(1)) * _GOLDEN + key
    z ^= z >> np.uint64(30)
    z *= _MUL1
    z ^= z >> np.uint64(27)
    z *= _MUL2
    z ^= z >> np.uint64(31)
    return (np.float64(z >> np.uint64(11)) + 0.5) * _TO_UNIT


binding.add_symbol("cxsim_ndtri",
                   get_cython_function_address("scipy.special.cython_special", "ndtri"))
inverse_normal = types.ExternalFunction("cxsim_ndtri", types.float64(types.float64))
"""Φ⁻¹ for compiled code: scipy's own ``ndtri`` (the Cephes routine), so that a draw made in
compiled code is bit for bit the one ``scipy.special.ndtri`` gives. Called by its symbol name,
which numba's cache can keep (a function pointer it could not)."""


@numba.njit(cache=True)
def _draws(slots: np.ndarray, serial: np.ndarray, key: np.uint64,
           normal: bool) -> np.ndarray:  # pragma: no cover - compiled
    """:func:`slot_uniform` for each slot (with its serial, or serial 0 if there are none), or
    its Φ⁻¹ if ``normal``."""
    u = np.empty(slots.shape[0])
    for i in range(slots.shape[0]):
        counter = np.uint64(serial[i]) if serial.shape[0] else np.uint64(0)
        u[i] = slot_uniform(slots[i], counter, key)
        if normal:
            u[i] = inverse_normal(u[i])
    return u


_NO_SERIAL = np.empty(0, dtype=np.uint64)
_MASK = (1 << 64) - 1
_FOLD = 0x100000001B3  # the 64-bit FNV prime: odd, so folding a counter in is one-to-one


def _mix(x: int) -> int:
    """The SplitMix64 mixer on one Python integer (for keys; slots use :func:`slot_uniform`)."""
    x = (x + 0x9E3779B97F4A7C15) & _MASK
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK
    return x ^ (x >> 31)


class Streams:
    """The random numbers of one simulation (one base seed, one replicate).

    Strategies share the streams of their replicate: that is what makes their differences paired.
    """

    def __init__(self, seed: int, replicate: int) -> None:
        self.seed = int(seed)
        self.replicate = int(replicate)
        root = np.random.SeedSequence(self.seed, spawn_key=(self.replicate,))
        self.root = int(root.generate_state(1, np.uint64)[0])
        self._purposes: dict[str, int] = {}
        self._keys: dict[str, np.uint64] = {}  # keys of purposes drawn without counters

    def key(self, purpose: str, *counters: int) -> np.uint64:
        """The 64-bit key of the stream for ``purpose`` at ``counters`` (e.g. day, hop)."""
        if not counters:  # most draws: one key per purpose for the whole run, kept
            key = self._keys.get(purpose)
            if key is None:
                key = self._keys[purpose] = np.uint64(_mix(self._purpose(purpose)))
            return key
        folded = self._purpose(purpose)
        for counter in counters:  # distinct small counters give distinct values before mixing
            folded = (folded * _FOLD + int(counter)) & _MASK
        return np.uint64(_mix(folded))

    def _purpose(self, purpose: str) -> int:
        key = self._purposes.get(purpose)
        if key is None:
            key = self._purposes[purpose] = _mix(self.root ^ zlib.crc32(purpose.encode()))
        return key

    def uniform(self, purpose: str, slots: np.ndarray, *counters: int,
                serial: np.ndarray | None = None) -> np.ndarray:
        """Uniform numbers in the open interval (0, 1), one per slot in ``slots``.

        ``counters`` are shared by the whole batch (e.g. the day); ``serial`` is each slot's own
        counter (e.g. its journey number), for a customer whose draws for one purpose must not
        depend on when they happen: the k-th journey's draw is the same whatever its day.
        """
        return _draws(slots, _NO_SERIAL if serial is None else serial,
                      self.key(purpose, *counters), False)

    def normal(self, purpose: str, slots: np.ndarray, *counters: int,
               serial: np.ndarray | None = None) -> np.ndarray:
        """Standard normal numbers, one per slot (inverse-CDF transform of :meth:`uniform`)."""
        return _draws(slots, _NO_SERIAL if serial is None else serial,
                      self.key(purpose, *counters), True)
