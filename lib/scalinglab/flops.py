"""Counting the FLOPs of the book's transformer: the papers' closed forms, and an exact count term by term.

Three conventions of the literature, all per token:

- Kaplan et al. (2020, "Scaling Laws for Neural Language Models", arXiv:2001.08361), Table 1: the forward
  pass costs C_forward = 2N + 2·n_layer·n_ctx·d_attn, with N the non-embedding parameters and one
  attention matmul (the QK^T "mask" row) counted; training costs about three forward passes, the backward
  pass about twice the forward (:func:`kaplan_forward_flops`, :func:`flops_per_token` with ``"kaplan"``);
- Chowdhery et al. (2022, "PaLM: Scaling Language Modeling with Pathways", arXiv:2204.02311), App. B:
  6N + 12·n_layer·d_model·n_ctx per token, both attention matmuls counted, the numerator of model FLOPs
  utilisation (MFU) (:func:`flops_per_token` with ``"palm"``);
- Hoffmann et al. (2022, "Training Compute-Optimal Large Language Models", arXiv:2203.15556), App. F: every
  matmul of the forward pass counted separately (QKV, the logits QK^T, the weighted sum of values, the
  output projection, the MLP, the final logits; 3 FLOPs per softmax element; the embedding too, as a
  matmul), the backward pass twice the forward, compared with the nominal 6·N·D (:func:`nominal_flops`)
  and found close to it at their sizes.

:func:`training_flops_per_token` (:class:`FlopCount`) counts, in Hoffmann et al.'s manner, exactly what
:class:`scalinglab.models.Transformer` computes: per layer the qkv projection, the attention scores QK^T,
the weighted sum of the values, the output projection and the two MLP matmuls; then the unembedding (the
logits over the vocabulary); the embeddings are look-ups here (0 FLOPs). A matmul of an (m × k) by a (k × n)
matrix costs 2·m·k·n FLOPs (one multiply and one add per term), and the backward pass of a matmul costs
exactly twice its forward (the gradients with respect to its input and to its weight). Bias adds, layer
norms, the softmax, GELU, the residual adds and the loss's log-softmax are elementwise; they are estimated
with the per-element counts of :data:`ELEMENTWISE_FLOPS` and kept apart from the matmuls.

Used by: chapters 00, 02 and 07 (run costs, FLOPs per token in the ladder tables, MFU), chapters 00, 01, 02,
05 and 06 (work accounting, through :meth:`scalinglab.train.TrainResult.work`; chapter 07 counts its own),
and the status page.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

from .models import TransformerConfig, non_embedding_params

#: Estimated FLOPs per element of the elementwise operations (forward pass): ``add`` — one add (bias
#: adds, residual adds, the token + position embedding sum); ``layer_norm`` — 5 to normalise (mean,
#: subtract, square, accumulate, scale by 1/σ) and 2 for the affine γ·x + β; ``attention_scale`` — the
#: 1/√d_head scaling of each score; ``softmax`` — exp, sum and divide, per score (Hoffmann et al. 2022,
#: App. F, count 3); ``gelu`` — the erf form x·½·(1 + erf(x/√2)), about 8; ``log_softmax`` — the loss's
#: log-softmax over the vocabulary, per logit, counted 3 like the softmax (exp, sum, subtract the log-sum).
ELEMENTWISE_FLOPS = {"add": 1, "layer_norm": 7, "attention_scale": 1, "softmax": 3, "gelu": 8, "log_softmax": 3}


def flops_per_token(config: TransformerConfig, convention: str = "kaplan") -> float:
    """Training FLOPs per token (forward + backward).

    ``"kaplan"``: Kaplan et al. (2020) Table 1 gives the forward pass as 2N + 2·n_layer·n_ctx·d_attn;
    the backward pass costs about twice the forward, so training ≈ 6N + 6·n_layer·n_ctx·d_model.
    ``"palm"``: Chowdhery et al. (2022, PaLM) App. B count both attention matmuls:
    6N + 12·n_layer·d_model·n_ctx. This is the usual numerator of model FLOPs utilisation (MFU).
    Neither counts the embedding lookups; both use the non-embedding N.
    Used by chapters 00, 02 and 07 (run costs, MFU), by chapters 00, 01, 02, 05 and 06 through
    :meth:`scalinglab.train.TrainResult.work` (work accounting), and by the status page.
    """
    N = non_embedding_params(config)
    attention = config.n_layer * config.context_length * config.d_model
    if convention == "kaplan":
        return 6.0 * N + 6.0 * attention
    if convention == "palm":
        return 6.0 * N + 12.0 * attention
    raise ValueError(f"convention must be one of 'kaplan', 'palm'; got {convention!r}")


def kaplan_forward_flops(config: TransformerConfig) -> float:
    """Kaplan et al. (2020) Table 1's forward pass per token: C_forward = 2N + 2·n_layer·n_ctx·d_attn, with
    d_attn = d_model and N = :func:`scalinglab.models.non_embedding_params` (the library's exact count, biases
    and layer norms included, as in :func:`flops_per_token`: 3 × this is its ``"kaplan"`` value). The
    reference against which :func:`forward_flops_per_token` is checked."""
    return 2.0 * non_embedding_params(config) + 2.0 * config.n_layer * config.context_length * config.d_model


def nominal_flops(n_params: float, tokens: float) -> float:
    """The nominal training compute C = 6·N·D of ``n_params`` parameters trained on ``tokens`` tokens (Kaplan
    et al. 2020, Sec. 2.1; Hoffmann et al. 2022), the reference of :func:`training_flops_per_token`'s ratio."""
    return 6.0 * n_params * tokens


@dataclass(frozen=True)
class FlopCount:
    """FLOPs per token of the book's transformer, term by term (all terms summed over the layers).

    Matmuls: ``qkv`` (the query, key and value projections, 2·d·3d per layer), ``attention_scores`` (QK^T,
    2·d per key attended, per layer), ``attention_values`` (the scores' weighted sum of the values, the same),
    ``attention_output`` (the output projection, 2·d² per layer), ``mlp`` (the two MLP matmuls, 2·2·d·d_ff
    per layer) and ``unembedding`` (the logits over the vocabulary, 2·d·V). ``embedding``: the token and
    position look-ups, 0 FLOPs (reported so that the count says so). ``elementwise``: the estimate of
    :data:`ELEMENTWISE_FLOPS` for everything else, excluded from :attr:`matmul`.
    """

    qkv: float
    attention_scores: float
    attention_values: float
    attention_output: float
    mlp: float
    unembedding: float
    embedding: float
    elementwise: float

    @property
    def matmul(self) -> float:
        """Every matmul, the unembedding included: what torch's ``FlopCounterMode`` counts (mm, addmm and bmm,
        without the bias adds). :func:`flops_per_token`'s closed forms approximate it less the unembedding."""
        return (self.qkv + self.attention_scores + self.attention_values + self.attention_output + self.mlp
                + self.unembedding + self.embedding)

    @property
    def total(self) -> float:
        """The matmuls plus the elementwise estimate."""
        return self.matmul + self.elementwise

    def scaled(self, factor: float) -> "FlopCount":
        """Every term times ``factor`` (3 for forward + backward, the batch's tokens for a step)."""
        return FlopCount(**{f.name: factor * getattr(self, f.name) for f in fields(self)})

    def to_dict(self) -> dict:
        """The terms, ``matmul`` and ``total`` as a flat dict (for tables)."""
        return {**asdict(self), "matmul": self.matmul, "total": self.total}


def forward_flops_per_token(config: TransformerConfig, *, causal: bool = False, exact: bool = True) -> FlopCount:
    """The forward pass of :class:`scalinglab.models.Transformer` per token, term by term (:class:`FlopCount`),
    for a full window of ``config.context_length`` = T tokens.

    ``causal=False`` (default): each query is counted against all T keys, as Kaplan et al. (2020, Table 1)
    and PaLM (App. B) count, and as a dense kernel computes (the mask zeroes half of a T × T matrix it still
    multiplies): 2·d·T per layer for QK^T and again for the values. ``causal=True``: the keys a causal query
    actually sees, position i seeing i of them, on average (T + 1)/2: d·(T + 1) per layer for each.
    ``exact=True`` counts the elementwise operations too (bias adds, layer norms, the attention scaling and
    softmax, GELU, the residual adds, the embedding sum and the loss's log-softmax, by the per-element
    estimates of :data:`ELEMENTWISE_FLOPS`); ``exact=False`` leaves them out (``elementwise`` = 0), the
    matmuls only. Dropout (off in the book's runs) is not counted. Used by :func:`training_flops_per_token`.
    """
    if not isinstance(config, TransformerConfig):
        raise TypeError(f"config must be a TransformerConfig, got {type(config).__name__}")
    d, L, T, V = config.d_model, config.n_layer, config.context_length, config.vocab_size
    d_ff, H = config.mlp_ratio * d, config.n_head
    keys = (T + 1) / 2 if causal else T  # keys per query, averaged over the window's positions
    elementwise = 0.0
    if exact:
        e = ELEMENTWISE_FLOPS
        per_layer = (2 * e["layer_norm"] * d  # two pre-norms
                     + e["add"] * (3 * d + d + d_ff + d)  # biases of qkv, the output projection, up, down
                     + e["add"] * 2 * d  # two residual adds
                     + (e["attention_scale"] + e["softmax"]) * H * keys  # per score, every head
                     + e["gelu"] * d_ff)
        elementwise = float(e["add"] * d + L * per_layer + e["layer_norm"] * d + e["log_softmax"] * V)
    return FlopCount(qkv=float(L * 2 * d * 3 * d), attention_scores=float(L * 2 * d * keys),
                     attention_values=float(L * 2 * d * keys), attention_output=float(L * 2 * d * d),
                     mlp=float(L * 2 * 2 * d * d_ff), unembedding=float(2 * d * V), embedding=0.0,
                     elementwise=elementwise)


def training_flops_per_token(config: TransformerConfig, *, causal: bool = False, exact: bool = True) -> FlopCount:
    """Training FLOPs per token (forward + backward) of :class:`scalinglab.models.Transformer`, term by term.

    The backward pass is counted as twice the forward, the usual convention (Kaplan et al. 2020; Hoffmann et
    al. 2022, App. F): for every matmul it is exact (one matmul for the gradient with respect to the input,
    one for the weight's); for the elementwise estimate it is a rough figure. So every term is 3 × that of
    :func:`forward_flops_per_token` (see it for ``causal`` and ``exact``). With ``causal=False`` the matmuls
    less the unembedding are exactly PaLM's 6N + 12·n_layer·d·T (:func:`flops_per_token`) less 6 per bias
    and layer-norm parameter (they are in N but multiply nothing); the unembedding adds 6·d·V.
    """
    return forward_flops_per_token(config, causal=causal, exact=exact).scaled(3.0)
