"""Data pruning: the perceptron teacher-student model and difficulty scores for real networks.

Sorscher, Geirhos, Shekhar, Ganguli & Morcos (NeurIPS 2022), "Beyond neural scaling laws: beating
power law scaling via data pruning". Two halves:

**Part A, theory, simulated** (paper Sec. 2 and Fig. 1). A teacher perceptron ``T`` labels Gaussian
inputs ``x ~ N(0, I_N)`` by ``y = sign(T·x)``. Of ``P = α_tot·N`` examples a pruning rule keeps a
fraction ``f`` (``α_prune = f·α_tot``), ranked by the margin ``|J·x|/‖J‖`` under a probe ``J`` at
angle ``θ`` to the teacher (``θ = 0``: a perfect metric). The student is the max-margin perceptron
on the kept examples; its test error is ``ε = arccos(R)/π`` with ``R`` the cosine between student and
teacher (the probability that a random Gaussian input falls between the two hyperplanes).

The max-margin solver is exact and fast: without a bias the max-margin direction is the
minimum-norm point ``u`` of the convex hull of ``{y_i x_i}`` and the margin is ``‖u‖``
(the dual of min ‖w‖² s.t. y_i w·x_i ≥ 1, with the dual variables rescaled to the simplex). That
point solves one non-negative least-squares problem, min_{β ≥ 0} ‖Zᵀβ‖² + (1ᵀβ − 1)², since
β = sλ with 1ᵀλ = 1 gives s²q + (s − 1)², minimised at q/(1 + q), increasing in q = ‖Zᵀλ‖².
We solve it with Lawson-Hanson (``scipy.optimize.nnls``) on a working set of the lowest-margin
examples, add every example that violates the margin, and repeat until none does — the answer is
then the exact max-margin solution of the whole kept set.

**Part B, neural** (paper Sec. 4-5): difficulty scores for MNIST-1D classifiers — EL2N (Paul et
al. 2021, "Deep learning on a data diet": ‖softmax(f(x)) − onehot(y)‖₂ early in training,
averaged over several short runs) and the paper's self-supervised prototype score (k-means on an
embedding learned without labels; difficulty = distance to the nearest centroid). Our embedding
is a small SimCLR-style contrastive encoder (Chen et al. 2020) trained on augmented signals
(random shifts, amplitude scaling, noise) — no labels are used. The many small classifiers of one
(size, seed) are trained at once as one stacked family (:mod:`scalinglab.families`).

Used by: chapter 03 (data pruning).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from scipy.optimize import nnls

from ..families import StackedMLP, train_family
from ..models import MLP, MLPConfig
from ..train import TrainConfig, default_device, seeded, train

STRATEGIES = ("easy", "hard", "random")

# ---------------------------------------------------------------------------------------------
# Selection (shared by both parts)
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
# Part A: the perceptron teacher-student model
# ---------------------------------------------------------------------------------------------


def teacher(N: int, seed: int) -> np.ndarray:
    """The teacher: a unit vector uniformly distributed on the sphere in R^N."""
    t = np.random.default_rng([seed, 0]).standard_normal(N)
    return t / np.linalg.norm(t)


def teacher_student_data(N: int, P: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(X, y, T)``: ``P`` inputs x ~ N(0, I_N) (rows of X, shape (P, N)), labels y = sign(T·x).

    The inputs of a seed are a prefix of one stream: the data of a smaller P is the first rows of a
    larger one, so different α_tot of one seed are nested (common random numbers).
    """
    if N < 1 or P < 1:
        raise ValueError(f"N and P must be >= 1, got {N}, {P}")
    T = teacher(N, seed)
    X = np.random.default_rng([seed, 1]).standard_normal((P, N))
    y = np.sign(X @ T)
    y[y == 0] = 1.0  # probability zero, but keep labels in {-1, +1}
    return X, y, T


def probe(T: np.ndarray, theta: float, seed: int) -> np.ndarray:
    """A unit probe J at angle ``theta`` (radians) to the unit teacher T:
    J = cos θ·T + sin θ·u, with u a random unit vector orthogonal to T (paper Sec. 3)."""
    u = np.random.default_rng([seed, 2]).standard_normal(len(T))
    u -= (u @ T) * T
    u /= np.linalg.norm(u)
    return math.cos(theta) * T + math.sin(theta) * u


def margin_difficulty(X: np.ndarray, J: np.ndarray) -> np.ndarray:
    """Difficulty of each example under the probe J: −|J·x|/‖J‖ (small margin = hard)."""
    return -np.abs(X @ J) / np.linalg.norm(J)


@dataclass
class MaxMarginResult:
    """The max-margin perceptron w (unit norm), its margin κ = min_i y_i w·x_i, and solver facts."""

    w: np.ndarray
    margin: float
    n_support: int
    rounds: int


def max_margin(X: np.ndarray, y: np.ndarray, *, working_size: int | None = None, tol: float = 1e-9,
               max_rounds: int = 100) -> MaxMarginResult:
    """Exact max-margin perceptron without bias (hard margin): maximise min_i y_i w·x_i over ‖w‖ = 1.

    Working-set NNLS (see the module docstring): start from the ``working_size`` (default 1.2·N)
    examples of lowest margin under the Hebbian direction Σ y_i x_i, solve the min-norm-point
    problem there, add every example whose margin is below κ(1 − tol), repeat. Raises if the data
    are not linearly separable through the origin. Used by chapter 03.
    """
    X = np.asarray(X, float)
    y = np.asarray(y, float)
    Z = y[:, None] * X  # (P, N): y_i x_i
    P, N = Z.shape
    k = min(P, working_size or int(1.2 * N) + 1)
    hebb = Z.sum(0)
    active = np.argsort(Z @ hebb, kind="stable")[:k]
    for rounds in range(1, max_rounds + 1):
        Za = Z[active]  # (k, N)
        A = np.vstack([Za.T, np.ones((1, len(active)))])  # (N + 1, k)
        b = np.zeros(N + 1)
        b[-1] = 1.0
        beta, _ = nnls(A, b, maxiter=50 * A.shape[1] + 100)
        u = Za.T @ (beta / beta.sum())  # min-norm point of the hull of the working set
        kappa = float(np.linalg.norm(u))
        if kappa < 1e-12:
            raise ValueError("data are not linearly separable through the origin")
        w = u / kappa
        margins = Z @ w  # (P,)
        violators = np.flatnonzero(margins < kappa * (1 - tol))
        violators = np.setdiff1d(violators, active)
        if len(violators) == 0:
            n_support = int(np.sum(beta > 0))
            return MaxMarginResult(w=w, margin=float(margins.min()), n_support=n_support, rounds=rounds)
        worst = violators[np.argsort(margins[violators], kind="stable")[:max(N, 1)]]
        keep = active[beta > 0]  # support vectors stay; the rest of the old set may go
        rest = np.setdiff1d(active, keep)
        rest = rest[np.argsort(margins[rest], kind="stable")[: max(0, k - len(keep))]]
        active = np.unique(np.concatenate([keep, worst, rest]))
    raise RuntimeError(f"max_margin did not converge in {max_rounds} rounds")


def overlap(w: np.ndarray, T: np.ndarray) -> float:
    """R = cos(angle between student and teacher)."""
    return float(w @ T / (np.linalg.norm(w) * np.linalg.norm(T)))


def perceptron_test_error(w: np.ndarray, T: np.ndarray) -> float:
    """Generalisation error arccos(R)/π of student w for teacher T on Gaussian inputs (exact)."""
    return float(np.arccos(np.clip(overlap(w, T), -1.0, 1.0)) / np.pi)


def run_perceptron(spec: dict) -> dict:
    """One pool of a perceptron sweep: draw ``P`` examples for ``seed``, score them with the probe at
    ``theta_deg``, and fit the max-margin student on each requested ``(n_keep, strategy)``.

    ``spec = {"N", "P", "seed", "theta_deg", "jobs": [[n_keep, strategy], ...]}``. Returns
    ``{"fits": [{"n_keep", "strategy", "error", "margin", "n_support"}, ...]}``. The run function of
    chapter 03's perceptron sweep (module level, so a process pool can pickle it).
    """
    N, P, seed = int(spec["N"]), int(spec["P"]), int(spec["seed"])
    X, y, T = teacher_student_data(N, P, seed)
    J = probe(T, math.radians(spec["theta_deg"]), seed)
    difficulty = margin_difficulty(X, J)
    fits = []
    for n_keep, strategy in spec["jobs"]:
        rng = np.random.default_rng([seed, 3, P, int(n_keep)])
        idx = select(difficulty, int(n_keep), strategy, rng)
        sol = max_margin(X[idx], y[idx])
        fits.append({"n_keep": int(n_keep), "strategy": strategy, "error": perceptron_test_error(sol.w, T),
                     "margin": sol.margin, "n_support": sol.n_support})
    return {"fits": fits}


# ---------------------------------------------------------------------------------------------
# Part B: many small classifiers at once, and difficulty scores
# ---------------------------------------------------------------------------------------------


def subset_batches(x: torch.Tensor, y: torch.Tensor, subsets: list[np.ndarray], batch_size: int):
    """A stacked batch function: model k draws ``batch_size`` examples
    uniformly (with replacement) from its own subset ``subsets[k]`` of (x, y)."""
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


@torch.no_grad()
def family_predict(family: StackedMLP, x: torch.Tensor, chunk: int = 8192) -> torch.Tensor:
    """Logits of every model of ``family`` on the same inputs x (n, D): returns (K, n, C)."""
    family.eval()
    return torch.cat([family(x[start:start + chunk]) for start in range(0, len(x), chunk)], dim=1)


def _train_on_subsets_at_once(mlps: list[MLP], x: torch.Tensor, y: torch.Tensor, subsets: list[np.ndarray],
                              train_config: TrainConfig, device: torch.device):
    """Train one copy of ``mlps[k]`` on ``subsets[k]`` for every k, as one stacked family
    (:mod:`scalinglab.families`): each model has its own data, loss and AdamW state. One generator,
    seeded from ``train_config.seed``, draws every model's batch indices."""
    family = StackedMLP.from_models(mlps).to(device)
    batch_fn = subset_batches(x, y, subsets, train_config.batch_size)
    generator = torch.Generator().manual_seed(train_config.seed)
    result = train_family(family, [train_config] * len(subsets), None, device=device,
                          stacked_batch_fn=lambda: batch_fn(generator))
    return family, result


def train_on_subsets(x_train: np.ndarray, y_train: np.ndarray, subsets: list[np.ndarray], config: MLPConfig,
                     train_config: TrainConfig, init_seed: int, x_test: np.ndarray, y_test: np.ndarray,
                     same_init: bool = True, device=None) -> dict:
    """Train one MLP per subset (all at once) and return their test accuracy and loss.

    With ``same_init`` every model starts from the same weights (seeded by ``init_seed``), so that
    differences between subsets are not blurred by initialisation noise; otherwise model k is
    seeded by ``(init_seed, k)``. Data order comes from ``train_config.seed``. Returns
    ``{"test_accuracy": [K], "test_loss": [K], "train_wall_s": float}``. Used by chapter 03.
    """
    device = torch.device(device) if device is not None else default_device()
    if same_init:
        base = seeded(lambda: MLP(config), init_seed)
        mlps = [base] * len(subsets)
    else:
        mlps = [seeded(lambda: MLP(config), init_seed * 1000 + k) for k in range(len(subsets))]
    xt = torch.as_tensor(x_train, dtype=torch.float32, device=device)
    yt = torch.as_tensor(y_train, dtype=torch.long, device=device)
    family, result = _train_on_subsets_at_once(mlps, xt, yt, subsets, train_config, device)
    xs = torch.as_tensor(x_test, dtype=torch.float32, device=device)
    ys = torch.as_tensor(y_test, dtype=torch.long, device=device)
    logits = family_predict(family, xs)  # (K, n_test, C)
    acc = (logits.argmax(-1) == ys).float().mean(1)
    loss = F.cross_entropy(logits.flatten(0, 1), ys.repeat(len(subsets)), reduction="none").view(len(subsets), -1).mean(1)
    return {"test_accuracy": acc.cpu().tolist(), "test_loss": loss.cpu().tolist(), "train_wall_s": result.wall_time_s}


def el2n(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """EL2N score ‖softmax(logits) − onehot(label)‖₂ per example (Paul et al. 2021, Eq. 2).
    ``logits`` (..., n, C), ``labels`` (n,) → (..., n). Ranges over [0, √2]."""
    probs = logits.softmax(-1)
    onehot = F.one_hot(labels, probs.shape[-1]).to(probs.dtype)
    return (probs - onehot).norm(dim=-1)


def el2n_scores(x_train: np.ndarray, y_train: np.ndarray, config: MLPConfig, train_config: TrainConfig,
                n_runs: int, seed: int, device=None) -> np.ndarray:
    """EL2N of every training example, averaged over ``n_runs`` short runs from different
    initialisations and data orders (trained together as one ensemble on the full set).
    Higher = harder. Used by chapter 03."""
    if n_runs < 1:
        raise ValueError(f"n_runs must be >= 1, got {n_runs}")
    device = torch.device(device) if device is not None else default_device()
    mlps = [seeded(lambda: MLP(config), seed * 1000 + k) for k in range(n_runs)]
    xt = torch.as_tensor(x_train, dtype=torch.float32, device=device)
    yt = torch.as_tensor(y_train, dtype=torch.long, device=device)
    everything = [np.arange(len(yt))] * n_runs
    family, _ = _train_on_subsets_at_once(mlps, xt, yt, everything, train_config, device)
    scores = el2n(family_predict(family, xt), yt)  # (n_runs, n)
    return scores.mean(0).cpu().numpy()


# --- self-supervised prototypes ---------------------------------------------------------------


def augment(x: torch.Tensor, generator: torch.Generator, max_shift: int = 4, noise: float = 0.1,
            scale: float = 0.2) -> torch.Tensor:
    """A random view of each signal in x (B, L): circular shift by up to ``max_shift`` positions,
    amplitude scaling by 1 ± ``scale``, additive Gaussian noise. Labels are never used."""
    B, L = x.shape
    shifts = torch.randint(-max_shift, max_shift + 1, (B, 1), generator=generator)
    cols = (torch.arange(L)[None, :] - shifts) % L  # (B, L)
    out = torch.gather(x, 1, cols.to(x.device))
    amp = 1 + scale * (2 * torch.rand(B, 1, generator=generator) - 1)
    return out * amp.to(x.device) + noise * torch.randn(B, L, generator=generator).to(x.device)


def nt_xent(z1: torch.Tensor, z2: torch.Tensor, temperature: float = 0.2) -> torch.Tensor:
    """SimCLR's normalised-temperature cross-entropy (Chen et al. 2020, Eq. 1): two views per
    example, each view must pick its partner among the other 2B − 1 embeddings."""
    B = len(z1)
    z = F.normalize(torch.cat([z1, z2]), dim=1)  # (2B, d)
    sim = z @ z.T / temperature  # (2B, 2B)
    sim.fill_diagonal_(float("-inf"))
    partner = torch.cat([torch.arange(B, 2 * B), torch.arange(0, B)]).to(z.device)
    return F.cross_entropy(sim, partner)


def contrastive_embedding(x_train: np.ndarray, config: MLPConfig, train_config: TrainConfig, seed: int,
                          device=None) -> np.ndarray:
    """Unit-norm embeddings (n, config.n_classes) of the training signals from an MLP encoder trained
    with :func:`nt_xent` on :func:`augment`-ed views. No labels. Used by chapter 03."""
    device = torch.device(device) if device is not None else default_device()
    encoder = seeded(lambda: MLP(config), seed)
    xt = torch.as_tensor(x_train, dtype=torch.float32)

    def batch_fn(generator: torch.Generator):
        idx = torch.randint(0, len(xt), (train_config.batch_size,), generator=generator)
        xb = xt[idx]
        return augment(xb, generator), augment(xb, generator)

    def loss_fn(model, batch):
        v1, v2 = batch
        return nt_xent(model(v1), model(v2))

    train(encoder, train_config, batch_fn, loss_fn, device=device)
    encoder.eval()
    with torch.no_grad():
        z = F.normalize(encoder(xt.to(device)), dim=1)
    return z.cpu().numpy()


def prototype_scores(embedding: np.ndarray, n_clusters: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The paper's self-supervised prototype metric (Sec. 5): k-means (scikit-learn) on the
    embedding; difficulty = Euclidean distance to the nearest centroid (far from every prototype =
    hard). Returns ``(difficulty (n,), cluster assignment (n,))``. Used by chapter 03."""
    from sklearn.cluster import KMeans

    km = KMeans(n_clusters=n_clusters, n_init=4, random_state=seed).fit(embedding)
    dist = km.transform(embedding)  # (n, n_clusters)
    return dist.min(1), km.labels_


# ---------------------------------------------------------------------------------------------
# Chapter 03's sweeps: specs, run functions, tables
# ---------------------------------------------------------------------------------------------


def perceptron_specs(N: int, seeds, alpha_tot, fractions, alpha_prune, theta_degs,
                     strategies_at_theta0=STRATEGIES, strategies_at_theta=("hard",)) -> list[dict]:
    """Specs of the perceptron sweep, one per (seed, θ, P) pool, holding every fit on that pool.

    Two designs share the pools: a *fixed α_tot* grid (α_tot × f × strategy: the easy/hard
    crossover and the best f) and a *fixed α_prune* grid (keep-hard at α_tot = α_prune/f, so that
    every f is measured at the same pruned data sizes: Fig. 1A and its Pareto frontier). At θ = 0
    all ``strategies_at_theta0`` run on the fixed-α_tot grid; at θ > 0 ``strategies_at_theta``.
    Used by chapter 03.
    """
    pools: dict[tuple, set] = {}
    for theta in theta_degs:
        strategies = strategies_at_theta0 if theta == 0 else strategies_at_theta
        for seed in seeds:
            for a in alpha_tot:
                P = int(round(a * N))
                for f in fractions:
                    n_keep = int(round(f * P))
                    for s in (["hard"] if f == 1 else strategies):  # f = 1 keeps everything
                        pools.setdefault((seed, theta, P), set()).add((n_keep, s))
            for ap in alpha_prune:
                n_keep = int(round(ap * N))
                for f in fractions:
                    P = int(round(n_keep / f))
                    pools.setdefault((seed, theta, P), set()).add((n_keep, "hard"))
    return [{"kind": "perceptron", "N": N, "P": P, "seed": seed, "theta_deg": theta,
             "jobs": sorted([list(j) for j in jobs])}
            for (seed, theta, P), jobs in sorted(pools.items())]


def perceptron_table(specs: list[dict], results: list[dict]):
    """One row per fit: seed, θ, N, P, n_keep, α_tot, f, α_prune, strategy, error, margin."""
    import pandas as pd

    rows = []
    for spec, res in zip(specs, results):
        for fit in res["fits"]:
            rows.append({"seed": spec["seed"], "theta_deg": spec["theta_deg"], "N": spec["N"], "P": spec["P"],
                         "n_keep": fit["n_keep"], "alpha_tot": spec["P"] / spec["N"],
                         "f": fit["n_keep"] / spec["P"], "alpha_prune": fit["n_keep"] / spec["N"],
                         "strategy": "full" if fit["n_keep"] == spec["P"] else fit["strategy"],
                         "error": fit["error"], "margin": fit["margin"], "n_support": fit["n_support"]})
    return pd.DataFrame(rows)




def mean_se(df, by: list[str], value: str):
    """Mean, standard error of the mean (ddof = 1) and count of ``value`` over seeds, per group."""
    g = df.groupby(by)[value]
    out = g.agg(["mean", "std", "count"]).reset_index()
    out["se"] = out["std"] / np.sqrt(out["count"])
    return out.drop(columns="std")


def training_steps(n_train: int, epochs: float, batch_size: int, min_steps: int) -> int:
    """Steps for ``epochs`` passes over the *unpruned* set (at least ``min_steps``); every pruned
    model of that set gets the same number of steps (an equal-compute comparison)."""
    return max(int(min_steps), int(math.ceil(epochs * n_train / batch_size)))


def run_neural(spec: dict) -> dict:
    """One (initial size, seed) cell of chapter 03's neural experiment.

    Scores the first ``n_train`` MNIST-1D examples (EL2N from ``el2n_runs`` short runs; prototype
    distance from a contrastive embedding + k-means, no labels), builds the kept subsets for random
    pruning and every ``(score, strategy)`` of ``spec["scored_strategies"]`` at every ``f``, trains one MLP per subset (plus the full set) from one shared
    initialisation for the same number of steps, and returns test accuracies with the score
    diagnostics. Module level, so that a process pool can pickle it.
    """
    from ..data.mnist1d import cached_mnist1d

    data = cached_mnist1d(spec["n_train_max"], spec["n_test"], spec["data_seed"]).subset(spec["n_train"])
    seed, n = int(spec["seed"]), data.n_train
    cfg = MLPConfig(input_dim=data.x_train.shape[1], hidden=tuple(spec["hidden"]), n_classes=10)
    steps = training_steps(n, spec["epochs"], spec["batch_size"], spec["min_steps"])
    base = dict(batch_size=spec["batch_size"], lr=spec["lr"], weight_decay=spec["weight_decay"],
                warmup_steps=min(50, steps // 10), grad_clip=None)
    el2n_steps = max(20, int(spec["el2n_fraction"] * steps))
    scores = {"el2n": el2n_scores(data.x_train, data.y_train, cfg,
                                  TrainConfig(steps=el2n_steps, seed=seed + 101, **base), spec["el2n_runs"], seed)}
    ssl_cfg = MLPConfig(input_dim=cfg.input_dim, hidden=(128,), n_classes=spec["embedding_dim"])
    embedding = contrastive_embedding(data.x_train, ssl_cfg,
                                      TrainConfig(steps=spec["ssl_steps"], batch_size=256, lr=2e-3, weight_decay=0.0,
                                                  warmup_steps=20, grad_clip=None, seed=seed + 202), seed)
    scores["proto"], clusters = prototype_scores(embedding, spec["n_clusters"], seed)
    rng = np.random.default_rng([seed, 4, n])
    subsets, labels = [np.arange(n)], [("full", "full", 1.0)]
    for f in spec["fractions"]:
        k = int(round(f * n))
        subsets.append(select(np.zeros(n), k, "random", rng))
        labels.append(("random", "random", f))
        for score, strategy in spec["scored_strategies"]:
            subsets.append(select(scores[score], k, strategy))
            labels.append((score, strategy, f))
    out = train_on_subsets(data.x_train, data.y_train, subsets, cfg,
                           TrainConfig(steps=steps, seed=seed + 303, **base), seed + 10_000, data.x_test,
                           data.y_test)
    from sklearn.metrics import normalized_mutual_info_score

    return {"runs": [{"score": s, "strategy": st, "f": f, "test_accuracy": a, "test_loss": l}
                     for (s, st, f), a, l in zip(labels, out["test_accuracy"], out["test_loss"])],
            "steps": steps, "el2n_steps": el2n_steps, "train_wall_s": out["train_wall_s"],
            "cluster_label_nmi": float(normalized_mutual_info_score(data.y_train, clusters)),
            "score_rank_correlation": float(np.corrcoef(np.argsort(np.argsort(scores["el2n"])),
                                                        np.argsort(np.argsort(scores["proto"])))[0, 1]),
            "el2n_quantiles": np.quantile(scores["el2n"], [0.1, 0.5, 0.9]).tolist()}


def neural_table(specs: list[dict], results: list[dict]):
    """One row per trained classifier: n_train, seed, score, strategy, f, test accuracy, test loss."""
    import pandas as pd

    rows = [{"n_train": spec["n_train"], "seed": spec["seed"], **run}
            for spec, res in zip(specs, results) for run in res["runs"]]
    return pd.DataFrame(rows)


