"""One way to derive seeds: named streams from the chapter's seed, through NumPy's ``SeedSequence``.

A chapter has one ``seed`` parameter. Every random choice in it draws from a stream named by what it
is for and which replicate it serves, e.g. ``derive_seed(seed, "init", replicate)`` or
``derive_seed(seed, "data-order", replicate)``. Streams with different names are independent, the
same name always gives the same seed, and nothing has to be recovered by subtraction: a run's spec
stores its ``replicate`` index beside the derived seed.

Used by: every chapter's experiment module (``scalinglab.experiments``).
"""

from __future__ import annotations

import hashlib

import numpy as np


def _word(part) -> int:
    """A stream-name component as a 32-bit integer (strings by hash, so the mapping is stable)."""
    if isinstance(part, bool):
        raise TypeError("a seed stream name cannot contain a bool")
    if isinstance(part, (int, np.integer)):
        if part < 0:
            raise ValueError(f"seed stream components must be >= 0, got {part}")
        return int(part)
    if isinstance(part, str):
        return int.from_bytes(hashlib.sha256(part.encode()).digest()[:4], "little")
    raise TypeError(f"seed stream components are str or int, got {type(part).__name__}")


def derive_seed(seed: int, *stream) -> int:
    """A 31-bit seed for the stream named ``stream`` (strings and non-negative ints) under ``seed``."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    sequence = np.random.SeedSequence(entropy=int(seed), spawn_key=tuple(_word(p) for p in stream))
    return int(sequence.generate_state(1, dtype=np.uint32)[0] & 0x7FFF_FFFF)


def generator(seed: int, *stream) -> np.random.Generator:
    """A NumPy generator for the named stream (see :func:`derive_seed`)."""
    return np.random.default_rng(derive_seed(seed, *stream))
