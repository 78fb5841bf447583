"""One training loop for every chapter.

AdamW (decoupled weight decay on matrices only), linear warm-up then one of the book's learning-rate
schedules (:mod:`scalinglab.schedules`: cosine, constant, warm-up–stable–decay, step), global gradient-norm
clipping, periodic evaluation, deterministic seeding and automatic
device choice. The loop knows nothing about the task: a chapter passes a ``batch_fn`` that draws a
batch from a seeded ``torch.Generator`` and a ``loss_fn(model, batch)``.

Used by: every chapter that trains a model (00 power laws, 01 emergence, 02 inverse scaling,
03 data pruning, 04 critical batch size, 05 compute-optimal, 06 knowledge capacity, 07 learning-rate
schedules). Chapter 07 also uses its snapshots: a constant-rate trunk whose cooldown branches resume from it.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import os
import random
import sys
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable

import numpy as np
import torch
import torch.nn as nn

from .devices import configure_threads, default_device
from .schedules import SCHEDULES, check_schedule, rate  # noqa: F401 (SCHEDULES: re-exported)

Batch = Any
BatchFn = Callable[[torch.Generator], Batch]
LossFn = Callable[[nn.Module, Batch], torch.Tensor]
EvalFn = Callable[[nn.Module], dict]


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
    # warm-up–stable–decay ("wsd") and step schedules only (scalinglab.schedules):
    cooldown_fraction: float = 0.2
    cooldown_shape: str = "sqrt"
    step_milestones: tuple = (0.5, 0.75)
    step_factor: float = 0.1 ** 0.5

    def __post_init__(self):
        check_schedule(self.schedule, cooldown_fraction=self.cooldown_fraction, cooldown_shape=self.cooldown_shape,
                       min_lr_ratio=self.min_lr_ratio, step_milestones=self.step_milestones,
                       step_factor=self.step_factor, owner="TrainConfig")
        if self.steps < 1 or self.batch_size < 1:
            raise ValueError(f"TrainConfig.steps and batch_size must be >= 1, got {self.steps}, {self.batch_size}")
        if not 0 <= self.warmup_steps <= self.steps:
            raise ValueError(f"TrainConfig.warmup_steps must be in [0, steps={self.steps}], got {self.warmup_steps}")
        if self.lr <= 0:
            raise ValueError(f"TrainConfig.lr must be > 0, got {self.lr}")

    def to_dict(self) -> dict:
        return asdict(self)


def learning_rate(step: int, config: TrainConfig) -> float:
    """Learning rate at ``step`` (0-based): linear warm-up to ``lr``, then ``config.schedule``
    (:func:`scalinglab.schedules.rate`; the cosine decays to ``min_lr_ratio·lr`` at the last step)."""
    return rate(step, config.steps, config.lr, config.schedule, warmup_steps=config.warmup_steps,
                min_lr_ratio=config.min_lr_ratio, cooldown_fraction=config.cooldown_fraction,
                cooldown_shape=config.cooldown_shape, step_milestones=config.step_milestones,
                step_factor=config.step_factor)


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
class TrainState:
    """Everything a run needs to go on from ``step`` completed steps exactly as if it had never stopped: the
    model's and the optimiser's state, the data generator's state and the training-loss EMA. Taken by
    :func:`train` at its ``snapshot_at`` steps (copies, so later training does not change them) and given back
    as ``resume``: a cooldown branch resumed from a constant-rate trunk is, number for number, the
    warm-up–stable–decay run trained from scratch (tested)."""

    step: int
    model: dict
    optimizer: dict
    generator: torch.Tensor
    ema: float | None


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
    snapshots: dict = field(default_factory=dict)  # step -> TrainState, at the steps asked for (not serialised)

    def to_dict(self) -> dict:
        return asdict(dataclasses.replace(self, snapshots={}), dict_factory=lambda kv: {k: v for k, v in kv
                                                                                          if k != "snapshots"})

    def work(self, config) -> dict:
        """The run's work for the book's status page (:func:`scalinglab.runs.work_of`): ``train_s``, seconds in
        training steps, and ``model_flops``, PaLM's FLOPs per token of the transformer ``config``
        (:func:`scalinglab.flops.flops_per_token`) × the tokens trained."""
        from .flops import flops_per_token

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
    snapshot_at=(),
    resume: TrainState | None = None,
) -> TrainResult:
    """Train ``model`` in place and return its :class:`TrainResult`.

    ``batch_fn(generator)`` must draw the next batch using only ``generator`` (seeded from
    ``config.seed``), so that the data order is reproducible and independent of the model.
    ``eval_fn(model)`` runs in eval mode under ``torch.no_grad`` and returns a dict of floats.
    ``snapshot_at``: steps (numbers of completed steps) at which to keep a :class:`TrainState` in
    ``result.snapshots``. ``resume``: go on from such a state (the model, optimiser, data order and EMA as
    they were) up to ``config.steps``, under ``config``'s schedule; the result then holds the new steps only.
    """
    device = torch.device(device) if device is not None else default_device()
    if device.type == "cpu":
        configure_threads()
    model.to(device)
    optimizer = make_optimizer(model, config)
    generator = torch.Generator().manual_seed(config.seed)
    first = 0
    if resume is not None:
        if not 0 <= resume.step <= config.steps:
            raise ValueError(f"resume: the state is at step {resume.step}, outside [0, steps={config.steps}]")
        # copies: torch keeps a loaded state tensor as it is when dtype and device match, and AdamW would then
        # update the snapshot in place, so that a second branch from it would start where the first ended
        model.load_state_dict(copy.deepcopy(resume.model))
        optimizer.load_state_dict(copy.deepcopy(resume.optimizer))
        generator.set_state(resume.generator.clone())
        first = resume.step
    snapshot_at = {int(s) for s in snapshot_at}
    bad = sorted(s for s in snapshot_at if not first <= s <= config.steps)
    if bad:
        raise ValueError(f"snapshot_at steps {bad} lie outside [{first}, steps={config.steps}]")
    snapshots: dict[int, TrainState] = {}

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
    ema = resume.ema if resume is not None else None
    start = time.perf_counter()
    model.train()
    bar = progress_bar(config.steps - first, desc, enabled=progress)
    step_time = 0.0
    tokens = 0  # this call's tokens only: a resumed branch counts its own work

    def keep(done: int) -> None:
        snapshots[done] = TrainState(step=done, model=copy.deepcopy(model.state_dict()),
                                     optimizer=copy.deepcopy(optimizer.state_dict()),
                                     generator=generator.get_state().clone(), ema=ema)

    if first in snapshot_at:
        keep(first)
    for step in range(first, config.steps):
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
        if step + 1 in snapshot_at:
            keep(step + 1)
    bar.close()
    wall = time.perf_counter() - start
    if not history:  # resumed at the last step: nothing left to train
        raise ValueError(f"resume: the state is already at the last step ({config.steps}); nothing to train")
    return TrainResult(history=history, final=history[-1], train_loss=losses, wall_time_s=wall,
                       steps=config.steps, step_time_s=step_time, tokens=tokens, snapshots=snapshots)
