"""Transformer step: scalinglab's model + training step vs a plain reference loop.

Configuration of nanoGPT's CPU example (shakespeare_char on a laptop): 4 layers, 4 heads, 128
dims, context 64, batch 12, vocabulary 65. The reference is written here, the way a first
implementation usually looks: attention by explicit matrix products and a causal mask, the
default (for-each) AdamW and global gradient clipping. The scalinglab side is
``scalinglab.models.Transformer`` trained by ``scalinglab.train.train`` (SDPA attention, fused AdamW,
the same clipping). Runs alternate, tokens/s are compared in the same process, and model FLOPs
utilisation (PaLM's 6N + 12·L·C·T per token) is reported against the fp32 matmul throughput
measured here. Targets: ratio ≥ 1.0, aim ≥ 1.3. Never asserts a time.

    .venv/bin/python benchmarks/bench_transformer_step.py [--steps 60] [--rounds 3] [--threads N]
"""

from __future__ import annotations

import argparse
import os
import math
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

from scalinglab.flops import flops_per_token
from scalinglab.models import Transformer, TransformerConfig, lm_loss
from scalinglab.devices import configure_threads, matmul_flops_per_s
from scalinglab.train import TrainConfig, seeded, train

CONFIG = TransformerConfig(vocab_size=65, context_length=64, n_layer=4, n_head=4, d_model=128)
BATCH = 12


# ---- the plain reference -------------------------------------------------------------------
class RefAttention(nn.Module):
    def __init__(self, d, h, t):
        super().__init__()
        self.h = h
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)
        self.register_buffer("mask", torch.tril(torch.ones(t, t, dtype=torch.bool)))

    def forward(self, x):
        B, T, C = x.shape
        q, k, v = self.qkv(x).split(C, dim=2)
        q, k, v = (z.view(B, T, self.h, C // self.h).transpose(1, 2) for z in (q, k, v))  # (B, h, T, hd)
        att = (q @ k.transpose(-2, -1)) / math.sqrt(C // self.h)
        att = att.masked_fill(~self.mask[:T, :T], float("-inf")).softmax(dim=-1)
        return self.proj((att @ v).transpose(1, 2).reshape(B, T, C))


class RefBlock(nn.Module):
    def __init__(self, d, h, t):
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.attn = RefAttention(d, h, t)
        self.mlp = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d))

    def forward(self, x):
        x = x + self.attn(self.ln1(x))
        return x + self.mlp(self.ln2(x))


class RefGPT(nn.Module):
    def __init__(self, c: TransformerConfig):
        super().__init__()
        self.tok = nn.Embedding(c.vocab_size, c.d_model)
        self.pos = nn.Embedding(c.context_length, c.d_model)
        self.blocks = nn.ModuleList(RefBlock(c.d_model, c.n_head, c.context_length) for _ in range(c.n_layer))
        self.ln = nn.LayerNorm(c.d_model)
        self.head = nn.Linear(c.d_model, c.vocab_size, bias=False)
        self.head.weight = self.tok.weight

    def forward(self, idx):
        x = self.tok(idx) + self.pos(torch.arange(idx.shape[1]))
        for b in self.blocks:
            x = b(x)
        return self.head(self.ln(x))


def batch_fn(generator):
    tokens = torch.randint(0, CONFIG.vocab_size, (BATCH, CONFIG.context_length + 1), generator=generator)
    return tokens[:, :-1], tokens[:, 1:]


def run_reference(model, opt, steps, generator):
    start = time.perf_counter()
    for _ in range(steps):
        x, y = batch_fn(generator)
        loss = F.cross_entropy(model(x).flatten(0, 1), y.flatten())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        loss.item()
    return steps * BATCH * CONFIG.context_length / (time.perf_counter() - start)


def run_scalinglab(model, steps, seed):
    cfg = TrainConfig(steps=steps, batch_size=BATCH, lr=1e-3, schedule="constant", seed=seed)
    result = train(model, cfg, batch_fn, lm_loss, device="cpu")
    return steps * BATCH * CONFIG.context_length / result.wall_time_s


def matmul_gflops(n=2048) -> float:
    """This process's fp32 matmul throughput, measured afresh (the library's helper, uncached)."""
    return matmul_flops_per_s.__wrapped__("cpu", torch.get_num_threads(), n=n) / 1e9


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--compile", action="store_true",
                        help="also time torch.compile(scalinglab model); compile time reported apart")
    args = parser.parse_args(argv)
    if args.threads:  # the library's loops call configure_threads() themselves: pass it on
        os.environ["SCALINGLAB_THREADS"] = str(args.threads)
    threads = configure_threads(args.threads)
    ref = seeded(lambda: RefGPT(CONFIG), 0)
    ref_opt = torch.optim.AdamW(ref.parameters(), lr=1e-3, weight_decay=0.1, betas=(0.9, 0.95))
    ours = seeded(lambda: Transformer(CONFIG), 0)
    g = torch.Generator().manual_seed(0)
    run_reference(ref, ref_opt, 5, g), run_scalinglab(ours, 5, 0)  # warm-up
    gflops_before = matmul_gflops()
    ref_tps, our_tps = [], []
    for r in range(args.rounds):
        ref_tps.append(run_reference(ref, ref_opt, args.steps, g))
        configure_threads(threads)
        our_tps.append(run_scalinglab(ours, args.steps, r + 1))
        configure_threads(threads)
    compiled = None
    if args.compile:  # compile time apart, then steady-state tokens/s of the compiled step
        model = torch.compile(seeded(lambda: Transformer(CONFIG), 0))
        start = time.perf_counter()
        run_scalinglab(model, 2, 0)
        compile_s = time.perf_counter() - start
        compiled_tps = [run_scalinglab(model, args.steps, r + 1) for r in range(args.rounds)]
        compiled = {"compile_s": compile_s, "tokens_s": max(compiled_tps)}
    gflops = max(gflops_before, matmul_gflops())
    ref_best, our_best = max(ref_tps), max(our_tps)
    ratio = our_best / ref_best
    fpt = flops_per_token(CONFIG, "palm")
    mfu_ours, mfu_ref = our_best * fpt / (gflops * 1e9), ref_best * fpt / (gflops * 1e9)
    verdict = "met (>= 1.3 aim)" if ratio >= 1.3 else "met (>= 1.0)" if ratio >= 1.0 else "NOT met"
    print(f"transformer step: nanoGPT CPU config (4 layers, 4 heads, 128 dims, context 64, batch 12, vocab 65), "
          f"{threads} threads, {args.steps} steps x {args.rounds} alternating rounds (best)")
    print(f"  fp32 matmul throughput (2048^2): {gflops:7.1f} GFLOP/s")
    print(f"  reference loop:     {ref_best:9.0f} tokens/s   MFU {mfu_ref:5.1%}   (rounds: "
          + ", ".join(f"{v:.0f}" for v in ref_tps) + ")")
    print(f"  scalinglab step:    {our_best:9.0f} tokens/s   MFU {mfu_ours:5.1%}   (rounds: "
          + ", ".join(f"{v:.0f}" for v in our_tps) + ")")
    print(f"  ratio scalinglab / reference: {ratio:.2f}x  (target >= 1.0, aim >= 1.3: {verdict})")
    if compiled is not None:
        gain = compiled["tokens_s"] / our_best
        saved_per_step = BATCH * CONFIG.context_length * (1 / our_best - 1 / compiled["tokens_s"])
        breakeven = compiled["compile_s"] / saved_per_step if saved_per_step > 0 else math.inf
        print(f"  torch.compile: {compiled['tokens_s']:.0f} tokens/s ({gain:.2f}x eager) after "
              f"{compiled['compile_s']:.1f} s of compilation; pays for itself after {breakeven:,.0f} steps")
    return {"reference_tokens_s": ref_best, "scalinglab_tokens_s": our_best, "ratio": ratio,
            "matmul_gflops": gflops, "mfu": mfu_ours, "mfu_reference": mfu_ref, "threads": threads,
            "flops_per_token": fpt, "compiled": compiled}


if __name__ == "__main__":
    main()
