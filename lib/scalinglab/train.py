"""One training loop for every chapter.

AdamW (decoupled weight decay on matrices only), linear warm-up then cosine or constant learning
rate, global gradient-norm clipping, periodic evaluation, deterministic seeding and automatic
device choice. The loop knows nothing about the task: a chapter passes a ``batch_fn`` that draws a
batch from a seeded ``torch.Generator`` and a ``loss_fn(model, batch)``.

Used by: every chapter that trains a model (00 power laws, 01 emergence, 02 inverse scaling,
03 data pruning, 04 critical batch size).
"""

from __future__ import annotations

import math
import os
import random
import sys
import time
from dataclasses import asdict, dataclass
from typing import Any, Callable

import numpy as np
import torch
import torch.nn as nn

from .devices import configure_threads, default_device

Batch = Any
BatchFn = Callable[[torch.Generator], Batch]
LossFn = Callable[[nn.Module, Batch], torch.Tensor]
EvalFn = Callable[[nn.Module], dict]

SCHEDULES = ("cosine", "constant")


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation settings of one run. ``seed`` fixes the data order; the model's init seed is
    the caller's (see :func:`seeded`)."""

    steps: int
    batch_size: int
    lr: float = 3e-3
    weight_decay: float = 0.1
    beta1: float = 0.9
    beta2: float = 0.95
    warmup_steps: int = 0
    schedule: str = "cosine"
    min_lr_ratio: float = 0.1
    grad_clip: float | None = 1.0
    eval_every: int = 0  # 0: evaluate only at the end
    seed: int = 0

    def __post_init__(self):
        if self.schedule not in SCHEDULES:
            raise ValueError(f"TrainConfig.schedule must be one of {SCHEDULES}, got {self.schedule!r}")
        if self.steps < 1 or self.batch_size < 1:
            raise ValueError(f"TrainConfig.steps and batch_size must be >= 1, got {self.steps}, {self.batch_size}")
        if not 0 <= self.warmup_steps <= self.steps:
            raise ValueError(f"TrainConfig.warmup_steps must be in [0, steps={self.steps}], got {self.warmup_steps}")
        if self.lr <= 0:
            raise ValueError(f"TrainConfig.lr must be > 0, got {self.lr}")

    def to_dict(self) -> dict:
        return asdict(self)


def learning_rate(step: int, config: TrainConfig) -> float:
    """Learning rate at ``step`` (0-based): linear warm-up to ``lr``, then cosine decay to
    ``min_lr_ratio·lr`` at the last step, or constant."""
    if config.warmup_steps and step < config.warmup_steps:
        return config.lr * (step + 1) / config.warmup_steps
    if config.schedule == "constant":
        return config.lr
    decay_steps = max(1, config.steps - config.warmup_steps)
    progress = min(1.0, (step - config.warmup_steps) / decay_steps)
    floor = config.min_lr_ratio * config.lr
    return floor + 0.5 * (config.lr - floor) * (1.0 + math.cos(math.pi * progress))


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and PyTorch (CPU and CUDA) RNGs."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def seeded(build: Callable[[], nn.Module], seed: int) -> nn.Module:
    """Build a model under a fixed seed, so that its initial weights depend on ``seed`` alone."""
    seed_everything(seed)
    return build()


def progress_bar(total: int, desc: str, enabled: bool = True):
    """A text tqdm bar that stays clean in executed notebooks and in the HTML book.

    Always tqdm's text bar (``tqdm.std``), never the notebook widget that ``tqdm.auto`` picks when
    ipywidgets is installed: a widget has no state in a papermill copy, so the HTML book would show its
    Python repr. We write to stdout with a long minimum interval (30 s, or ``TQDM_MININTERVAL``) so that a
    bar leaves a handful of lines at most (``ci/build_book.py`` applies the carriage returns).
    """
    from tqdm.std import tqdm

    mininterval = float(os.environ.get("TQDM_MININTERVAL", 30))
    return tqdm(total=total, desc=desc, disable=not enabled, mininterval=mininterval,
                file=sys.stdout, dynamic_ncols=False, ncols=90)


def make_optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    """AdamW with weight decay on matrices (dim ≥ 2) only, as in GPT-2/nanoGPT; fused when supported."""
    decay = [p for p in model.parameters() if p.requires_grad and p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.requires_grad and p.dim() < 2]
    groups = [
        {"params": decay, "weight_decay": config.weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]
    kwargs = dict(lr=config.lr, betas=(config.beta1, config.beta2))
    try:
        return torch.optim.AdamW(groups, fused=True, **kwargs)
    except (RuntimeError, TypeError):  # fused AdamW unsupported for this device/dtype
        return torch.optim.AdamW(groups, **kwargs)


def _input_numel(batch: Batch) -> int:
    """Elements of a batch's inputs: the tensor itself, or the first of a tuple/list (inputs, targets, …)."""
    if isinstance(batch, torch.Tensor):
        return batch.numel()
    if isinstance(batch, (tuple, list)) and batch and isinstance(batch[0], torch.Tensor):
        return batch[0].numel()
    return 0


def _to_device(batch: Batch, device: torch.device) -> Batch:
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, (tuple, list)):
        return type(batch)(_to_device(b, device) for b in batch)
    if isinstance(batch, dict):
        return {k: _to_device(v, device) for k, v in batch.items()}
    return batch


@dataclass
class TrainResult:
    """What a run produced: the loss curve, the evaluations and the cost."""

    history: list[dict]  # one row per evaluation: step, examples seen, train loss (EMA), lr, eval metrics
    final: dict  # last evaluation
    train_loss: list[float]  # every step's training loss
    wall_time_s: float
    steps: int
    step_time_s: float = math.nan  # time in training steps alone (no evaluation): throughput, MFU
    tokens: int = 0  # input positions processed (the first tensor of every batch): model FLOPs = tokens × FLOPs/token

    def to_dict(self) -> dict:
        return asdict(self)

    def work(self, config) -> dict:
        """The run's work for the book's status page (:func:`scalinglab.runs.work_of`): ``train_s``, seconds in
        training steps, and ``model_flops``, PaLM's FLOPs per token of the transformer ``config``
        (:func:`scalinglab.models.flops_per_token`) × the tokens trained."""
        from .models import flops_per_token

        return {"train_s": self.step_time_s, "model_flops": flops_per_token(config, "palm") * self.tokens}


def train(
    model: nn.Module,
    config: TrainConfig,
    batch_fn: BatchFn,
    loss_fn: LossFn,
    eval_fn: EvalFn | None = None,
    device: torch.device | str | None = None,
    progress: bool = False,
    desc: str = "train",
) -> TrainResult:
    """Train ``model`` in place and return its :class:`TrainResult`.

    ``batch_fn(generator)`` must draw the next batch using only ``generator`` (seeded from
    ``config.seed``), so that the data order is reproducible and independent of the model.
    ``eval_fn(model)`` runs in eval mode under ``torch.no_grad`` and returns a dict of floats.
    """
    device = torch.device(device) if device is not None else default_device()
    if device.type == "cpu":
        configure_threads()
    model.to(device)
    optimizer = make_optimizer(model, config)
    generator = torch.Generator().manual_seed(config.seed)

    def evaluate() -> dict:
        if eval_fn is None:
            return {}
        model.eval()
        with torch.no_grad():
            out = {k: float(v) for k, v in eval_fn(model).items()}
        model.train()
        return out

    history: list[dict] = []
    losses: list[float] = []
    ema = None
    start = time.perf_counter()
    model.train()
    bar = progress_bar(config.steps, desc, enabled=progress)
    step_time = 0.0
    tokens = 0
    for step in range(config.steps):
        step_start = time.perf_counter()
        lr = learning_rate(step, config)
        for group in optimizer.param_groups:
            group["lr"] = lr
        batch = _to_device(batch_fn(generator), device)
        tokens += _input_numel(batch)
        loss = loss_fn(model, batch)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if config.grad_clip:
            torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
        optimizer.step()
        value = loss.item()  # also waits for the GPU, so that step_time is the step's real time
        step_time += time.perf_counter() - step_start
        if not math.isfinite(value):
            bar.close()
            raise FloatingPointError(f"training loss became {value} at step {step} (lr={lr:.3g})")
        losses.append(value)
        ema = value if ema is None else 0.9 * ema + 0.1 * value
        bar.update(1)
        last = step + 1 == config.steps
        if last or (config.eval_every and (step + 1) % config.eval_every == 0):
            row = {"step": step + 1, "examples": (step + 1) * config.batch_size,
                   "train_loss_ema": ema, "lr": lr}
            row.update(evaluate())
            history.append(row)
    bar.close()
    wall = time.perf_counter() - start
    return TrainResult(history=history, final=history[-1], train_loss=losses, wall_time_s=wall,
                       steps=config.steps, step_time_s=step_time, tokens=tokens)
