"""Models trained from scratch in the book: a decoder-only transformer, an MLP and a small 1-D CNN.

The transformer follows the GPT-2 layout (pre-norm blocks, learned positions, tied input/output
embedding) at sizes from ~10k to ~10M parameters. Parameter counts follow Kaplan et al. (2020),
"Scaling Laws for Neural Language Models", Sec. 2.1 and Table 1, so that the book's scaling plots use
the same variable N as the paper: non-embedding parameters. FLOP counts are in :mod:`scalinglab.flops`.

Used by: chapter 00 (power laws) and every chapter that trains a language model; the MLP by the
chapters on data pruning and critical batch size; the CNN by chapter 03 (data pruning on MNIST-1D).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass(frozen=True)
class TransformerConfig:
    """Shape of a decoder-only transformer.

    ``d_model`` must be divisible by ``n_head``. The MLP hidden width is ``mlp_ratio * d_model``
    (4 in GPT-2 and in Kaplan et al.).
    """

    vocab_size: int = 256
    context_length: int = 64
    n_layer: int = 2
    n_head: int = 2
    d_model: int = 64
    mlp_ratio: int = 4
    dropout: float = 0.0
    tie_embeddings: bool = True

    def __post_init__(self):
        for name in ("vocab_size", "context_length", "n_layer", "n_head", "d_model", "mlp_ratio"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"TransformerConfig.{name} must be a positive integer, got {value!r}")
        if self.d_model % self.n_head:
            raise ValueError(
                f"TransformerConfig.d_model ({self.d_model}) must be divisible by n_head ({self.n_head})"
            )
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"TransformerConfig.dropout must be in [0, 1), got {self.dropout!r}")

    def to_dict(self) -> dict:
        return asdict(self)


def non_embedding_params(config: TransformerConfig) -> int:
    """Kaplan et al. (2020) Sec. 2.1: N ≈ 2·d_model·n_layer·(2·d_attn + d_ff) = 12·n_layer·d_model².

    That approximation drops biases and layer norms; this function counts them exactly for our
    architecture so that it equals the count of the instantiated model (tested). With d_ff = 4·d
    the leading term is the paper's 12·n_layer·d².
    """
    d, d_ff, L = config.d_model, config.mlp_ratio * config.d_model, config.n_layer
    attention = 4 * d * d + 4 * d  # q, k, v, output projections with biases
    mlp = 2 * d * d_ff + d_ff + d  # two linear layers with biases
    norms = 2 * 2 * d  # two layer norms (weight + bias) per block
    final_norm = 2 * d
    return L * (attention + mlp + norms) + final_norm


def embedding_params(config: TransformerConfig) -> int:
    """Token and position embeddings (plus the unembedding when it is not tied)."""
    tokens = config.vocab_size * config.d_model
    positions = config.context_length * config.d_model
    unembedding = 0 if config.tie_embeddings else config.vocab_size * config.d_model
    return tokens + positions + unembedding


class CausalSelfAttention(nn.Module):
    """Multi-head self-attention with a causal mask, via ``F.scaled_dot_product_attention``."""

    def __init__(self, config: TransformerConfig):
        super().__init__()
        self.n_head = config.n_head
        self.qkv = nn.Linear(config.d_model, 3 * config.d_model)
        self.proj = nn.Linear(config.d_model, config.d_model)
        self.dropout = config.dropout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, T, C = x.shape
        q, k, v = self.qkv(x).split(C, dim=2)  # each (B, T, C)
        # (B, T, C) -> (B, n_head, T, head_dim)
        q = q.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        k = k.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        v = v.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        y = F.scaled_dot_product_attention(
            q, k, v, is_causal=True, dropout_p=self.dropout if self.training else 0.0
        )
        y = y.transpose(1, 2).contiguous().view(B, T, C)  # (B, n_head, T, hd) -> (B, T, C)
        return self.proj(y)


class FeedForward(nn.Module):
    """Position-wise MLP: d_model -> mlp_ratio·d_model -> d_model with GELU."""

    def __init__(self, config: TransformerConfig):
        super().__init__()
        hidden = config.mlp_ratio * config.d_model
        self.up = nn.Linear(config.d_model, hidden)
        self.down = nn.Linear(hidden, config.d_model)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.down(F.gelu(self.up(x))))


class Block(nn.Module):
    """Pre-norm residual block: x + attn(ln(x)), then x + mlp(ln(x))."""

    def __init__(self, config: TransformerConfig):
        super().__init__()
        self.ln_attn = nn.LayerNorm(config.d_model)
        self.attn = CausalSelfAttention(config)
        self.ln_mlp = nn.LayerNorm(config.d_model)
        self.mlp = FeedForward(config)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.ln_attn(x))
        return x + self.mlp(self.ln_mlp(x))


class Transformer(nn.Module):
    """Decoder-only language model. ``forward(idx)`` returns logits of shape (B, T, vocab_size)."""

    def __init__(self, config: TransformerConfig):
        super().__init__()
        self.config = config
        self.token_embedding = nn.Embedding(config.vocab_size, config.d_model)
        self.position_embedding = nn.Embedding(config.context_length, config.d_model)
        self.drop = nn.Dropout(config.dropout)
        self.blocks = nn.ModuleList(Block(config) for _ in range(config.n_layer))
        self.ln_final = nn.LayerNorm(config.d_model)
        self.unembedding = nn.Linear(config.d_model, config.vocab_size, bias=False)
        if config.tie_embeddings:
            self.unembedding.weight = self.token_embedding.weight
        self.apply(self._init_weights)
        # GPT-2 scales the residual output projections by 1/sqrt(2·n_layer) so that the residual
        # stream's variance does not grow with depth.
        for name, p in self.named_parameters():
            if name.endswith("proj.weight") or name.endswith("down.weight"):
                nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * config.n_layer))

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        B, T = idx.shape
        if T > self.config.context_length:
            raise ValueError(f"sequence length {T} exceeds context_length {self.config.context_length}")
        positions = torch.arange(T, device=idx.device)
        x = self.drop(self.token_embedding(idx) + self.position_embedding(positions))  # (B, T, C)
        for block in self.blocks:
            x = block(x)
        return self.unembedding(self.ln_final(x))  # (B, T, vocab_size)

    def num_params(self, non_embedding: bool = True) -> int:
        """Count parameters of the instantiated model (tied weights counted once)."""
        total = sum(p.numel() for p in self.parameters())
        if non_embedding:
            total -= self.token_embedding.weight.numel() + self.position_embedding.weight.numel()
            if not self.config.tie_embeddings:
                total -= self.unembedding.weight.numel()
        return total


def lm_loss(model: nn.Module, batch: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
    """Mean next-token cross-entropy (nats) of a (inputs, targets) batch; targets of -100 are ignored."""
    inputs, targets = batch
    logits = model(inputs)  # (B, T, V)
    return F.cross_entropy(logits.flatten(0, 1), targets.flatten(), ignore_index=-100)


@dataclass(frozen=True)
class MLPConfig:
    """A fully connected classifier: input_dim -> hidden widths (ReLU) -> n_classes."""

    input_dim: int = 40
    hidden: tuple[int, ...] = field(default=(128, 128))
    n_classes: int = 10

    def __post_init__(self):
        if self.input_dim < 1 or self.n_classes < 1 or any(h < 1 for h in self.hidden):
            raise ValueError(f"MLPConfig sizes must be positive, got {self}")

    def to_dict(self) -> dict:
        return {"input_dim": self.input_dim, "hidden": list(self.hidden), "n_classes": self.n_classes}


class MLP(nn.Module):
    """The book's MLP classifier. ``forward(x)`` maps (B, input_dim) to logits (B, n_classes)."""

    def __init__(self, config: MLPConfig):
        super().__init__()
        self.config = config
        widths = [config.input_dim, *config.hidden]
        layers: list[nn.Module] = []
        for fan_in, fan_out in zip(widths[:-1], widths[1:]):
            layers += [nn.Linear(fan_in, fan_out), nn.ReLU()]
        layers.append(nn.Linear(widths[-1], config.n_classes))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def num_params(self) -> int:
        """Every trainable weight and bias of the network."""
        return sum(p.numel() for p in self.parameters())


def classification_loss(model: nn.Module, batch: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
    """Mean cross-entropy of an (inputs, labels) batch."""
    inputs, labels = batch
    return F.cross_entropy(model(inputs), labels)


@dataclass(frozen=True)
class CNN1DConfig:
    """A small 1-D convolutional classifier for signals of length ``input_length`` (one channel):
    ``len(channels)`` convolutions (kernel ``kernel_sizes[i]``, stride ``stride``, padding k // 2,
    ReLU), then one linear layer from the flattened feature map to ``n_classes`` logits. The default
    is the shape of Greydanus's (2020) MNIST-1D CNN baseline (three stride-2 convolutions), with 32
    channels instead of 25."""

    input_length: int = 40
    channels: tuple[int, ...] = field(default=(32, 32, 32))
    kernel_sizes: tuple[int, ...] = field(default=(5, 3, 3))
    stride: int = 2
    n_classes: int = 10

    def __post_init__(self):
        if len(self.channels) != len(self.kernel_sizes) or not self.channels:
            raise ValueError(f"CNN1DConfig: channels and kernel_sizes need the same (non-zero) length, got {self}")
        if (self.input_length < 1 or self.n_classes < 1 or self.stride < 1 or any(c < 1 for c in self.channels)
                or any(k < 1 for k in self.kernel_sizes)):
            raise ValueError(f"CNN1DConfig sizes must be positive, got {self}")
        if self.feature_length() < 1:
            raise ValueError(f"CNN1DConfig: the feature map vanishes for input_length {self.input_length}")

    def feature_length(self) -> int:
        """Length of the last feature map: L ← ⌊(L + 2·(k // 2) − k) / stride⌋ + 1 per convolution."""
        length = self.input_length
        for k in self.kernel_sizes:
            length = (length + 2 * (k // 2) - k) // self.stride + 1
        return length

    def to_dict(self) -> dict:
        return {"input_length": self.input_length, "channels": list(self.channels),
                "kernel_sizes": list(self.kernel_sizes), "stride": self.stride, "n_classes": self.n_classes}


class CNN1D(nn.Module):
    """The book's small 1-D CNN. ``forward(x)`` maps signals (B, input_length) to logits (B, n_classes)."""

    def __init__(self, config: CNN1DConfig):
        super().__init__()
        self.config = config
        widths = [1, *config.channels]
        self.convs = nn.ModuleList(
            nn.Conv1d(c_in, c_out, k, stride=config.stride, padding=k // 2)
            for c_in, c_out, k in zip(widths[:-1], widths[1:], config.kernel_sizes))
        self.head = nn.Linear(config.channels[-1] * config.feature_length(), config.n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x.unsqueeze(1)  # (B, L) -> (B, 1, L): one input channel
        for conv in self.convs:
            h = F.relu(conv(h))  # (B, C_in, L_in) -> (B, C_out, ⌊(L_in + 2·(k//2) − k)/stride⌋ + 1)
        return self.head(h.flatten(1))  # (B, C_last, L_last) -> (B, C_last·L_last) -> (B, n_classes)

    def num_params(self) -> int:
        """Every trainable weight and bias of the network."""
        return sum(p.numel() for p in self.parameters())
