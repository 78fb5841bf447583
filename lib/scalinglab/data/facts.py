"""Random facts with a known information content, generated offline from a seed.

A data set is a table of ``n_individuals`` × ``n_attributes`` facts. Each individual has a *name*: a
string of ``name_length`` symbols drawn from ``name_symbols`` symbols, distinct across individuals (a
name is a key made of shared tokens, so a model cannot store an individual in an embedding row of its
own). Each fact — the value of one attribute of one individual — is drawn independently and
uniformly from ``n_values`` choices, so it carries exactly log₂ C bits (C = ``n_values``) and a data
set carries n_individuals · n_attributes · log₂ C bits that nothing but memorisation can recover
(the values have no pattern to generalise from). This is the setting of Allen-Zhu & Li (2024,
"Physics of Language Models, Part 3.3"), whose synthetic biographies draw each attribute uniformly
from a fixed list, reduced to its information-theoretic core; Morris et al. (2025, "How much do
language models memorize?") use uniformly random token strings to the same end
(:func:`random_token_strings`).

One individual is one training sequence: its name, then its attribute values in a fixed order, so
that the position of a value says which attribute it is::

    n₁ n₂ … n_k  v₁ v₂ … v_A

Tokens ``0 … name_symbols−1`` are name symbols and ``name_symbols … name_symbols+C−1`` are values.
The language-model targets (:func:`lm_tensors`) are the values only (the name is given).

Used by: chapter 06 (knowledge capacity).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

IGNORE = -100


@dataclass(frozen=True)
class FactSet:
    """A table of random facts: ``names`` (M, k) and ``values`` (M, A), both integer arrays.

    ``values`` holds value indices in ``[0, n_values)``; :meth:`tokens` maps them to token ids.
    """

    names: np.ndarray
    values: np.ndarray
    name_symbols: int
    n_values: int

    @property
    def n_individuals(self) -> int:
        return int(self.values.shape[0])

    @property
    def n_attributes(self) -> int:
        return int(self.values.shape[1])

    @property
    def name_length(self) -> int:
        return int(self.names.shape[1])

    @property
    def n_facts(self) -> int:
        """Individuals × attributes."""
        return self.n_individuals * self.n_attributes

    @property
    def bits_per_fact(self) -> float:
        """log₂ C: the information in one uniformly drawn value."""
        return math.log2(self.n_values)

    @property
    def total_bits(self) -> float:
        """The information content of the whole table: facts × log₂ C."""
        return self.n_facts * self.bits_per_fact

    @property
    def vocab_size(self) -> int:
        return self.name_symbols + self.n_values

    @property
    def sequence_length(self) -> int:
        return self.name_length + self.n_attributes

    def tokens(self) -> np.ndarray:
        """(M, k + A) token ids: the name, then the values (offset by ``name_symbols``)."""
        return np.concatenate([self.names, self.values + self.name_symbols], axis=1).astype(np.int64)

    def with_values(self, values: np.ndarray) -> "FactSet":
        """The same individuals with other values (e.g. a fresh draw, for a chance-level control)."""
        values = np.asarray(values)
        if values.shape != self.values.shape:
            raise ValueError(f"values must have shape {self.values.shape}, got {values.shape}")
        return FactSet(names=self.names, values=values, name_symbols=self.name_symbols, n_values=self.n_values)


def _distinct_names(n: int, length: int, symbols: int, rng: np.random.Generator) -> np.ndarray:
    space = symbols ** length
    if n > space:
        raise ValueError(f"{n} individuals need distinct names but only {symbols}^{length} = {space} exist")
    if space <= 10_000_000:
        codes = rng.choice(space, size=n, replace=False)
    else:  # rejection: draw codes until n distinct ones, keeping the order of first appearance
        codes = np.empty(0, dtype=np.int64)
        while codes.size < n:
            draw = rng.integers(0, space, size=2 * (n - codes.size) + 16)
            merged = np.concatenate([codes, draw])
            _, first = np.unique(merged, return_index=True)
            codes = merged[np.sort(first)][:n]
    digits = np.empty((n, length), dtype=np.int64)
    for position in range(length - 1, -1, -1):  # base-`symbols` digits, most significant first
        digits[:, position] = codes % symbols
        codes = codes // symbols
    return digits


def random_facts(n_individuals: int, n_attributes: int, n_values: int, seed: int, *,
                 name_length: int = 3, name_symbols: int = 32) -> FactSet:
    """``n_individuals`` distinct random names, each with ``n_attributes`` values uniform over
    ``n_values`` choices; everything from ``np.random.default_rng(seed)`` (names first, then values),
    so the same arguments always give the same table."""
    for label, value in (("n_individuals", n_individuals), ("n_attributes", n_attributes),
                         ("n_values", n_values), ("name_length", name_length), ("name_symbols", name_symbols)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"random_facts: {label} must be a positive integer, got {value!r}")
    if n_values < 2:
        raise ValueError(f"random_facts: n_values must be >= 2 (one choice carries no information), got {n_values}")
    rng = np.random.default_rng(seed)
    names = _distinct_names(int(n_individuals), int(name_length), int(name_symbols), rng)
    values = rng.integers(0, n_values, size=(int(n_individuals), int(n_attributes)), dtype=np.int64)
    return FactSet(names=names, values=values, name_symbols=int(name_symbols), n_values=int(n_values))


def lm_tensors(facts: FactSet) -> tuple[torch.Tensor, torch.Tensor]:
    """Next-token inputs (M, k + A − 1) and targets of the same shape: the values are targets, the
    name positions are ``-100`` (ignored by :func:`scalinglab.models.lm_loss`)."""
    tokens = torch.from_numpy(facts.tokens())
    inputs, targets = tokens[:, :-1].clone(), tokens[:, 1:].clone()
    targets[:, : facts.name_length - 1] = IGNORE  # predicting the rest of the name is not a fact
    return inputs, targets


def random_token_strings(n_strings: int, length: int, vocab_size: int, seed: int) -> np.ndarray:
    """Morris et al. (2025)'s data: ``n_strings`` sequences of ``length`` tokens, each uniform over
    ``vocab_size``; a string carries length · log₂ V bits. Returns an (n_strings, length) int64 array."""
    for label, value in (("n_strings", n_strings), ("length", length), ("vocab_size", vocab_size)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"random_token_strings: {label} must be a positive integer, got {value!r}")
    return np.random.default_rng(seed).integers(0, vocab_size, size=(n_strings, length), dtype=np.int64)
