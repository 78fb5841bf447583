"""Data pruning: which examples to keep, and the difficulty scores that rank them.

:func:`select` keeps the hardest, the easiest or a random ``n_keep`` of a set, by any difficulty score
(:data:`STRATEGIES`). The scores are those Sorscher, Geirhos, Shekhar, Ganguli & Morcos (NeurIPS
2022), "Beyond neural scaling laws: beating power law scaling via data pruning" (Sec. 4-5), compare:

- EL2N (Paul, Ganguli & Dziugaite 2021, "Deep learning on a data diet: finding important examples
  early in training"): ‖softmax(f(x)) − onehot(y)‖₂ early in training, averaged over several short
  runs (:func:`el2n`, :func:`el2n_scores`);
- the self-supervised prototype score of Sorscher et al. (2022): k-means on an embedding learned
  without labels; difficulty = distance to the nearest centroid (:func:`prototype_scores`). Our
  embedding is a small SimCLR-style contrastive encoder (Chen et al. 2020; :func:`nt_xent`,
  :func:`contrastive_embedding`) trained on augmented 1-D signals (:func:`augment`: random shifts,
  amplitude scaling, noise) — no labels are used.

Scoring and training on pruned sets both need many small classifiers, each on its own subset of one
training set. :func:`train_on_subsets` trains them at once as one stacked family
(:mod:`scalinglab.families`; MLPs as :class:`~scalinglab.families.StackedMLP`, 1-D CNNs,
:class:`~scalinglab.models.CNN1D`, as :class:`StackedCNN1D`, grouped convolutions), each model
drawing its batches from its own subset (:func:`subset_batches`).

Used by: chapter 03 (data pruning).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from .devices import default_device
from .families import StackedMLP, train_family
from .models import CNN1D, MLP, CNN1DConfig, MLPConfig
from .seeds import derive_seed
from .train import TrainConfig, seeded, train

#: The pruning strategies of :func:`select`: keep the easiest, the hardest, or a random subset.
STRATEGIES = ("easy", "hard", "random")


# ---------------------------------------------------------------------------------------------
# Selection
# ---------------------------------------------------------------------------------------------


def select(difficulty: np.ndarray, n_keep: int, strategy: str, rng: np.random.Generator | None = None) -> np.ndarray:
    """Indices of the ``n_keep`` examples kept by ``strategy``: ``"hard"`` keeps the highest
    difficulty, ``"easy"`` the lowest, ``"random"`` a uniform subset (needs ``rng``).

    Ties are broken by index (a stable sort), so the result is deterministic. Used by chapter 03.
    """
    difficulty = np.asarray(difficulty)
    n = len(difficulty)
    if not 0 <= n_keep <= n:
        raise ValueError(f"n_keep must be in [0, {n}], got {n_keep}")
    if strategy == "random":
        if rng is None:
            raise ValueError("strategy 'random' needs an rng")
        return np.sort(rng.choice(n, size=n_keep, replace=False))
    order = np.argsort(difficulty, kind="stable")  # easiest first
    if strategy == "easy":
        return np.sort(order[:n_keep])
    if strategy == "hard":
        return np.sort(order[n - n_keep:])
    raise ValueError(f"strategy must be one of {STRATEGIES}, got {strategy!r}")


# ---------------------------------------------------------------------------------------------
# Many small classifiers at once, and EL2N
# ---------------------------------------------------------------------------------------------


def subset_batches(x: torch.Tensor, y: torch.Tensor, subsets: list[np.ndarray], batch_size: int):
    """A stacked batch function: model k draws ``batch_size`` examples
    uniformly (with replacement) from its own subset ``subsets[k]`` of (x, y). Used by chapter 03."""
    K = len(subsets)
    lengths = torch.tensor([len(s) for s in subsets], dtype=torch.float64)
    if torch.any(lengths < 1):
        raise ValueError("every subset must hold at least one example")
    padded = torch.zeros(K, int(lengths.max()), dtype=torch.long)  # (K, max subset size)
    for k, s in enumerate(subsets):
        padded[k, : len(s)] = torch.as_tensor(np.asarray(s), dtype=torch.long)
    padded = padded.to(x.device)

    def batch_fn(generator: torch.Generator):
        u = torch.rand(K, batch_size, generator=generator, dtype=torch.float64)
        pos = (u * lengths[:, None]).long().clamp_max(lengths.long()[:, None] - 1).to(x.device)  # (K, B)
        idx = torch.gather(padded, 1, pos)  # (K, B) example indices
        return x[idx], y[idx]  # (K, B, D), (K, B)

    return batch_fn


class StackedCNN1D(torch.nn.Module):
    """K :class:`~scalinglab.models.CNN1D` of one config as stacked tensors, run as grouped
    convolutions (model k's signals are input channel k; ``groups=K`` keeps the models apart) and one
    batched matrix product for the heads. Every parameter has the model index first, as
    :class:`~scalinglab.families.StackedAdamW` needs: convolution weights (K, C_out, C_in, k), biases
    (K, C_out), head (K, C·L, n_classes) and (K, 1, n_classes). ``forward`` takes (K, B, L), one
    batch per model, or (B, L) shared by all, and returns logits (K, B, n_classes). Trained by
    :func:`scalinglab.families.train_family`; exact (tested against the members). Used by chapter 03."""

    def __init__(self, config: CNN1DConfig, n_models: int):
        super().__init__()
        self.config, self.n_models = config, n_models
        widths = [1, *config.channels]
        self.conv_weights = torch.nn.ParameterList(
            torch.nn.Parameter(torch.zeros(n_models, c_out, c_in, k))
            for c_in, c_out, k in zip(widths[:-1], widths[1:], config.kernel_sizes))
        self.conv_biases = torch.nn.ParameterList(torch.nn.Parameter(torch.zeros(n_models, c)) for c in config.channels)
        features = config.channels[-1] * config.feature_length()
        self.head_weight = torch.nn.Parameter(torch.zeros(n_models, features, config.n_classes))
        self.head_bias = torch.nn.Parameter(torch.zeros(n_models, 1, config.n_classes))

    @classmethod
    def from_models(cls, models: list[CNN1D]) -> "StackedCNN1D":
        """Stack copies of ``models`` (one config); the originals are untouched."""
        config = models[0].config
        if any(m.config != config for m in models):
            raise ValueError("StackedCNN1D.from_models: every model must have the same CNN1DConfig")
        stacked = cls(config, len(models))
        ref = next(models[0].parameters())
        stacked.to(dtype=ref.dtype, device=ref.device)
        with torch.no_grad():
            for i in range(len(config.channels)):
                stacked.conv_weights[i].copy_(torch.stack([m.convs[i].weight for m in models]))
                stacked.conv_biases[i].copy_(torch.stack([m.convs[i].bias for m in models]))
            stacked.head_weight.copy_(torch.stack([m.head.weight.T for m in models]))  # (K, C·L, n_classes)
            stacked.head_bias.copy_(torch.stack([m.head.bias[None, :] for m in models]))
        return stacked

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        K = self.n_models
        if x.dim() == 2:  # (B, L) shared by all models -> (B, K, L)
            h = x.unsqueeze(1).expand(-1, K, -1)
        else:  # (K, B, L) -> (B, K, L): model k's signal in input channel k
            h = x.transpose(0, 1)
        B = h.shape[0]
        for w, b in zip(self.conv_weights, self.conv_biases):
            _, c_out, c_in, k = w.shape
            # (B, K·C_in, L_in) -> (B, K·C_out, L_out); groups=K: output block k sees only input block k
            h = F.relu(F.conv1d(h, w.reshape(K * c_out, c_in, k), b.reshape(K * c_out), stride=self.config.stride,
                                padding=k // 2, groups=K))
        h = h.reshape(B, K, -1).transpose(0, 1)  # (B, K·C, L') -> (B, K, C·L') -> (K, B, C·L')
        return torch.baddbmm(self.head_bias, h, self.head_weight)  # (K, B, n_classes)

    def decay_mask(self) -> list[bool]:
        """Weight decay on the weights (as :func:`scalinglab.train.make_optimizer`: dim ≥ 2 in the member)."""
        n = len(self.conv_weights)
        return [True] * n + [False] * n + [True, False]

    def ordered_parameters(self) -> list[torch.nn.Parameter]:
        return [*self.conv_weights, *self.conv_biases, self.head_weight, self.head_bias]

    def member(self, k: int) -> CNN1D:
        """Model ``k`` as an ordinary :class:`~scalinglab.models.CNN1D` (a copy)."""
        model = CNN1D(self.config).to(dtype=self.head_weight.dtype, device=self.head_weight.device)
        with torch.no_grad():
            for i, conv in enumerate(model.convs):
                conv.weight.copy_(self.conv_weights[i][k])
                conv.bias.copy_(self.conv_biases[i][k])
            model.head.weight.copy_(self.head_weight[k].T)
            model.head.bias.copy_(self.head_bias[k, 0])
        return model


def build_classifier(config):
    """The classifier of ``config``: an :class:`~scalinglab.models.MLP` (``MLPConfig``) or a
    :class:`~scalinglab.models.CNN1D` (``CNN1DConfig``). Used by chapter 03."""
    if isinstance(config, CNN1DConfig):
        return CNN1D(config)
    if isinstance(config, MLPConfig):
        return MLP(config)
    raise TypeError(f"no classifier for {type(config).__name__}")


def stack_classifiers(models: list) -> torch.nn.Module:
    """One stacked family of identical-shape classifiers: :class:`~scalinglab.families.StackedMLP` for
    MLPs, :class:`StackedCNN1D` for CNNs. Used by chapter 03."""
    if isinstance(models[0], CNN1D):
        return StackedCNN1D.from_models(models)
    return StackedMLP.from_models(models)


@torch.no_grad()
def family_predict(family: torch.nn.Module, x: torch.Tensor, chunk: int = 8192) -> torch.Tensor:
    """Logits of every model of ``family`` on the same inputs x (n, D): returns (K, n, C). Used by chapter 03."""
    family.eval()
    return torch.cat([family(x[start:start + chunk]) for start in range(0, len(x), chunk)], dim=1)


def _train_on_subsets_at_once(mlps: list, x: torch.Tensor, y: torch.Tensor, subsets: list[np.ndarray],
                              train_config: TrainConfig, device: torch.device):
    """Train one copy of ``mlps[k]`` on ``subsets[k]`` for every k, as one stacked family
    (:mod:`scalinglab.families`): each model has its own data, loss and AdamW state. One generator,
    seeded from ``train_config.seed``, draws every model's batch indices."""
    family = stack_classifiers(mlps).to(device)
    batch_fn = subset_batches(x, y, subsets, train_config.batch_size)
    generator = torch.Generator().manual_seed(train_config.seed)
    result = train_family(family, [train_config] * len(subsets), None, device=device,
                          stacked_batch_fn=lambda: batch_fn(generator))
    return family, result


def train_on_subsets(x_train: np.ndarray, y_train: np.ndarray, subsets: list[np.ndarray], config: MLPConfig | CNN1DConfig,
                     train_config: TrainConfig, init_seed: int, x_test: np.ndarray, y_test: np.ndarray,
                     same_init: bool = True, device=None) -> dict:
    """Train one MLP per subset (all at once) and return their test accuracy and loss.

    With ``same_init`` every model starts from the same weights (seeded by ``init_seed``), so that
    differences between subsets are not blurred by initialisation noise; otherwise model k is
    seeded by ``(init_seed, k)``. Data order comes from ``train_config.seed``. Returns
    ``{"test_accuracy": [K], "test_loss": [K], "test_correct": bool array (K, n_test), "train_wall_s": float}``. Used by chapter 03.
    """
    device = torch.device(device) if device is not None else default_device()
    if same_init:
        base = seeded(lambda: build_classifier(config), init_seed)
        mlps = [base] * len(subsets)
    else:
        mlps = [seeded(lambda: build_classifier(config), derive_seed(init_seed, "init", k)) for k in range(len(subsets))]
    xt = torch.as_tensor(x_train, dtype=torch.float32, device=device)
    yt = torch.as_tensor(y_train, dtype=torch.long, device=device)
    family, result = _train_on_subsets_at_once(mlps, xt, yt, subsets, train_config, device)
    xs = torch.as_tensor(x_test, dtype=torch.float32, device=device)
    ys = torch.as_tensor(y_test, dtype=torch.long, device=device)
    logits = family_predict(family, xs)  # (K, n_test, C)
    correct = logits.argmax(-1) == ys  # (K, n_test)
    acc = correct.float().mean(1)
    loss = F.cross_entropy(logits.flatten(0, 1), ys.repeat(len(subsets)), reduction="none").view(len(subsets), -1).mean(1)
    return {"test_accuracy": acc.cpu().tolist(), "test_loss": loss.cpu().tolist(),
            "test_correct": correct.cpu().numpy(), "train_wall_s": result.wall_time_s}


def el2n(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """EL2N score ‖softmax(logits) − onehot(label)‖₂ per example (Paul et al. 2021, Eq. 2).
    ``logits`` (..., n, C), ``labels`` (n,) → (..., n). Ranges over [0, √2]. Used by chapter 03."""
    probs = logits.softmax(-1)
    onehot = F.one_hot(labels, probs.shape[-1]).to(probs.dtype)
    return (probs - onehot).norm(dim=-1)


def el2n_scores(x_train: np.ndarray, y_train: np.ndarray, config: MLPConfig | CNN1DConfig, train_config: TrainConfig,
                n_runs: int, seed: int, device=None) -> np.ndarray:
    """EL2N of every training example, averaged over ``n_runs`` short runs from different
    initialisations and data orders (trained together as one ensemble on the full set).
    Higher = harder. Used by chapter 03."""
    if n_runs < 1:
        raise ValueError(f"n_runs must be >= 1, got {n_runs}")
    device = torch.device(device) if device is not None else default_device()
    mlps = [seeded(lambda: build_classifier(config), derive_seed(seed, "el2n-init", k)) for k in range(n_runs)]
    xt = torch.as_tensor(x_train, dtype=torch.float32, device=device)
    yt = torch.as_tensor(y_train, dtype=torch.long, device=device)
    everything = [np.arange(len(yt))] * n_runs
    family, _ = _train_on_subsets_at_once(mlps, xt, yt, everything, train_config, device)
    scores = el2n(family_predict(family, xt), yt)  # (n_runs, n)
    return scores.mean(0).cpu().numpy()


# ---------------------------------------------------------------------------------------------
# Self-supervised prototypes
# ---------------------------------------------------------------------------------------------


def augment(x: torch.Tensor, generator: torch.Generator, max_shift: int = 4, noise: float = 0.1,
            scale: float = 0.2) -> torch.Tensor:
    """A random view of each signal in x (B, L): circular shift by up to ``max_shift`` positions,
    amplitude scaling by 1 ± ``scale``, additive Gaussian noise. Labels are never used. Used by chapter 03."""
    B, L = x.shape
    shifts = torch.randint(-max_shift, max_shift + 1, (B, 1), generator=generator)
    cols = (torch.arange(L)[None, :] - shifts) % L  # (B, L)
    out = torch.gather(x, 1, cols.to(x.device))
    amp = 1 + scale * (2 * torch.rand(B, 1, generator=generator) - 1)
    return out * amp.to(x.device) + noise * torch.randn(B, L, generator=generator).to(x.device)


def nt_xent(z1: torch.Tensor, z2: torch.Tensor, temperature: float = 0.2) -> torch.Tensor:
    """SimCLR's normalised-temperature cross-entropy (Chen et al. 2020, Eq. 1): two views per
    example, each view must pick its partner among the other 2B − 1 embeddings. Used by chapter 03."""
    B = len(z1)
    z = F.normalize(torch.cat([z1, z2]), dim=1)  # (2B, d)
    sim = z @ z.T / temperature  # (2B, 2B)
    sim.fill_diagonal_(float("-inf"))
    partner = torch.cat([torch.arange(B, 2 * B), torch.arange(0, B)]).to(z.device)
    return F.cross_entropy(sim, partner)


def contrastive_embedding(x_train: np.ndarray, config: MLPConfig, train_config: TrainConfig, seed: int,
                          device=None, max_shift: int = 4, noise: float = 0.1, scale: float = 0.2,
                          temperature: float = 0.2) -> np.ndarray:
    """Unit-norm embeddings (n, config.n_classes) of the training signals from an MLP encoder trained
    with :func:`nt_xent` on :func:`augment`-ed views. No labels. Used by chapter 03."""
    device = torch.device(device) if device is not None else default_device()
    encoder = seeded(lambda: MLP(config), seed)
    xt = torch.as_tensor(x_train, dtype=torch.float32)

    def batch_fn(generator: torch.Generator):
        idx = torch.randint(0, len(xt), (train_config.batch_size,), generator=generator)
        xb = xt[idx]
        return (augment(xb, generator, max_shift, noise, scale), augment(xb, generator, max_shift, noise, scale))

    def loss_fn(model, batch):
        v1, v2 = batch
        return nt_xent(model(v1), model(v2), temperature)

    train(encoder, train_config, batch_fn, loss_fn, device=device)
    encoder.eval()
    with torch.no_grad():
        z = F.normalize(encoder(xt.to(device)), dim=1)
    return z.cpu().numpy()


def prototype_scores(embedding: np.ndarray, n_clusters: int, seed: int, n_init: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """The paper's self-supervised prototype metric (Sec. 5): k-means (scikit-learn) on the
    embedding; difficulty = Euclidean distance to the nearest centroid (far from every prototype =
    hard). Returns ``(difficulty (n,), cluster assignment (n,))``. Used by chapter 03."""
    from sklearn.cluster import KMeans

    km = KMeans(n_clusters=n_clusters, n_init=n_init, random_state=seed).fit(embedding)
    dist = km.transform(embedding)  # (n, n_clusters)
    return dist.min(1), km.labels_
