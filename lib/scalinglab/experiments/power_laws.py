"""Training byte-level language models for the power-law chapter.

A run is described by a JSON-able spec (see :func:`byte_lm_spec`) so that it can be keyed in the
run store and executed in a worker process (:func:`scalinglab.runs.cpu_process_pool`).

Used by: chapter 00 (power laws).
"""

from __future__ import annotations

import functools

import numpy as np
import torch

from ..data.text import fixed_windows, python_stdlib_corpus, random_windows
from ..models import Transformer, TransformerConfig, flops_per_token, lm_loss
from ..devices import default_device, matmul_flops_per_s
from ..train import TrainConfig, seeded, train


@functools.lru_cache(maxsize=2)
def _corpus(n_bytes: int):
    return python_stdlib_corpus(n_bytes)


def byte_lm_spec(model: TransformerConfig, train_config: TrainConfig, corpus_spec: dict, init_seed: int,
                 eval_windows: int) -> dict:
    """The run-store spec of one byte-level LM run (everything that determines its result)."""
    return {"kind": "lm-bytes", "model": model.to_dict(), "train": train_config.to_dict(),
            "init_seed": init_seed, "data": corpus_spec, "eval_windows": eval_windows}


def run_byte_lm(spec: dict) -> dict:
    """Train one transformer on the byte corpus named in ``spec`` and return its held-out curve.

    The held-out loss is the mean next-byte cross-entropy (nats/byte) on ``eval_windows`` fixed,
    evenly spaced windows of the validation stream. ``best_val_loss`` is the minimum over the
    periodic evaluations — Kaplan et al.'s early stopping.
    """
    n_bytes = spec["data"]["train_bytes"] + spec["data"]["val_bytes"]
    corpus = _corpus(n_bytes)
    if corpus.sha256 != spec["data"]["sha256"]:
        raise ValueError(f"corpus hash {corpus.sha256[:12]}… differs from the spec's {spec['data']['sha256'][:12]}…")
    cfg = TransformerConfig(**spec["model"])
    train_cfg = TrainConfig(**spec["train"])
    model = seeded(lambda: Transformer(cfg), spec["init_seed"])
    device = default_device()
    val_inputs, val_targets = fixed_windows(corpus.val, spec["eval_windows"], cfg.context_length)

    def batch_fn(generator):
        return random_windows(corpus.train, train_cfg.batch_size, cfg.context_length, generator)

    def eval_fn(m):
        losses = [lm_loss(m, (x.to(device), y.to(device))).item()
                  for x, y in zip(val_inputs.split(256), val_targets.split(256))]
        return {"val_loss": float(np.mean(losses))}

    result = train(model, train_cfg, batch_fn, lm_loss, eval_fn, device=device)
    # Throughput and model FLOPs utilisation of the training steps (evaluation excluded): PaLM's
    # 6N + 12·L·T·d FLOPs per token against this process's measured fp32 matmul throughput.
    tokens_per_s = train_cfg.steps * train_cfg.batch_size * cfg.context_length / result.step_time_s
    model_flops_per_s = tokens_per_s * flops_per_token(cfg, "palm")
    peak = matmul_flops_per_s(device.type, torch.get_num_threads())
    return {"history": result.history, "final_val_loss": result.final["val_loss"],
            "best_val_loss": min(row["val_loss"] for row in result.history),
            "wall_time_s": result.wall_time_s, "n_params": model.num_params(non_embedding=True),
            "n_params_total": model.num_params(non_embedding=False),
            "device": device.type, "threads": torch.get_num_threads(), "tokens_per_s": tokens_per_s,
            "model_flops_per_s": model_flops_per_s, "matmul_flops_per_s": peak,
            "mfu": model_flops_per_s / peak}
