"""MNIST-1D, generated on this machine: ten 1-D digit templates, padded, scaled, translated,
sheared and noised (Greydanus, 2020, "Scaling down deep learning", arXiv:2011.14439).

We call the ``mnist1d`` package's procedural generator ``make_dataset(get_dataset_args())`` with a
larger ``num_samples`` than its default 5,000 so that the amount of data matters for a small
network. Its ``get_dataset()`` is never used: that path first tries to download a pickle from
GitHub and writes it into the working directory.

The generator draws from NumPy's *global* random state; :func:`make_mnist1d` saves and restores
that state so that calling it has no side effect on the rest of a chapter. Generation is slow
(about 1-2 ms per example, a Python loop with ``scipy`` interpolation), so
:func:`cached_mnist1d` keeps the arrays in the run store (safetensors) keyed by the generation
arguments.

Used by: chapter 03 (data pruning).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np

N_CLASSES = 10
SIGNAL_LENGTH = 40  # get_dataset_args().final_seq_length

CARD = """\
**MNIST-1D** (Greydanus 2020) — 1-D signals of length 40, ten classes, generated procedurally by the
`mnist1d` package (`make_dataset(get_dataset_args())`, default transformation settings; only
`num_samples`, `train_split` and `seed` are changed). Inputs are standardised over the whole
generated set by the generator itself. Licence of the generator: Apache-2.0.
"""


@dataclass(frozen=True)
class MNIST1D:
    """A generated MNIST-1D split: float32 signals (n, 40) and int64 labels (n,)."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    seed: int

    @property
    def n_train(self) -> int:
        return len(self.y_train)

    @property
    def n_test(self) -> int:
        return len(self.y_test)

    def spec(self) -> MNIST1DSpec:
        """What identifies this data in the run store."""
        return MNIST1DSpec(n_train=self.n_train, n_test=self.n_test, seed=self.seed)

    def subset(self, n_train: int) -> "MNIST1D":
        """The first ``n_train`` training examples (a uniformly random subset: the generator shuffles)
        with the same test set. Nested subsets make initial dataset sizes comparable."""
        if not 1 <= n_train <= self.n_train:
            raise ValueError(f"n_train must be in [1, {self.n_train}], got {n_train}")
        return MNIST1D(self.x_train[:n_train], self.y_train[:n_train], self.x_test, self.y_test, self.seed)

    def as_dataset(self, split: str = "train"):
        """The split as a ``datasets.Dataset`` with columns ``x`` (list of 40 floats) and ``label``."""
        from datasets import Dataset

        if split not in ("train", "test"):
            raise ValueError(f"split must be 'train' or 'test', got {split!r}")
        x, y = (self.x_train, self.y_train) if split == "train" else (self.x_test, self.y_test)
        ds = Dataset.from_dict({"x": x.tolist(), "label": y.tolist()})
        ds.info.description = CARD
        return ds


def make_mnist1d(n_train: int, n_test: int, seed: int = 0) -> MNIST1D:
    """Generate ``n_train + n_test`` MNIST-1D examples with the package's own generator.

    ``n_train + n_test`` must be a multiple of 10 (the generator makes the same number per class,
    then shuffles). The split is made here, exactly at ``n_train``; class counts in each split are
    therefore only approximately equal.
    """
    from mnist1d.data import get_dataset_args, make_dataset

    total = n_train + n_test
    if n_train < 1 or n_test < 1 or total % N_CLASSES:
        raise ValueError(f"n_train, n_test must be >= 1 with n_train + n_test a multiple of {N_CLASSES}; "
                         f"got {n_train}, {n_test}")
    args = get_dataset_args()
    args.num_samples = total
    args.train_split = n_train / total
    args.seed = int(seed)
    np_state, py_state = np.random.get_state(), random.getstate()
    try:
        data = make_dataset(args)
    finally:  # the generator reseeds the global RNGs; undo that
        np.random.set_state(np_state)
        random.setstate(py_state)
    x = np.concatenate([data["x"], data["x_test"]]).astype(np.float32)  # (total, 40)
    y = np.concatenate([data["y"], data["y_test"]]).astype(np.int64)
    return MNIST1D(x[:n_train], y[:n_train], x[n_train:], y[n_train:], int(seed))


@dataclass(frozen=True)
class MNIST1DSpec:
    """The run-store spec of one generated MNIST-1D set: every argument of :func:`make_mnist1d` and the
    generator's settings in words."""

    n_train: int
    n_test: int
    seed: int
    generator: str = "mnist1d.make_dataset(get_dataset_args()) defaults"


def generate_mnist1d(spec: MNIST1DSpec) -> dict:
    """Run function of :func:`cached_mnist1d` (module level, so that a worker process can import it):
    the generated arrays as ``_weights`` (kept with safetensors in the run store)."""
    import torch

    d = make_mnist1d(spec.n_train, spec.n_test, spec.seed)
    return {"n_train": d.n_train, "n_test": d.n_test,
            "_weights": {"x_train": torch.from_numpy(d.x_train), "y_train": torch.from_numpy(d.y_train),
                         "x_test": torch.from_numpy(d.x_test), "y_test": torch.from_numpy(d.y_test)}}


def cached_mnist1d(n_train: int, n_test: int, seed: int = 0, store=None) -> MNIST1D:
    """:func:`make_mnist1d`, computed once and then read from the run store."""
    from ..runs import RunStore, sweep

    store = store if store is not None else RunStore()
    spec = MNIST1DSpec(n_train=int(n_train), n_test=int(n_test), seed=int(seed))
    sweep([spec], generate_mnist1d, store, workers=1, progress=False)
    arrays = store.weights(spec)
    if arrays is None:  # pragma: no cover - the sweep has just written them
        raise RuntimeError("MNIST-1D arrays missing from the run store")
    return MNIST1D(arrays["x_train"].numpy(), arrays["y_train"].numpy(), arrays["x_test"].numpy(),
                   arrays["y_test"].numpy(), int(seed))
