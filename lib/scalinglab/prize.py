"""The Inverse Scaling Prize's classification evaluation, for any causal language model.

McKenzie et al. (2023, "Inverse Scaling: When Bigger Isn't Better", Transactions on Machine Learning
Research; Sec. 2 and App. A) collect the winning tasks of the Inverse Scaling Prize, on which larger
language models do *worse*. The prize's task format (github.com/inverse-scaling/prize; the hub datasets
``inverse-scaling/<task>``) scores a *classification* task by the log-probability of each class string
after the prompt. Each example has a ``prompt``, a list of ``classes`` (answer strings, each starting
with a space) and the ``answer_index`` of the correct one. For each class c the model's log-probability
of the class string given the prompt is the sum of its tokens' log-probabilities,

    s_c = Σ_t log p(c_t | prompt, c_<t),

the scores are normalised across the classes with a log-softmax, ŝ_c = s_c − log Σ_c' exp s_c',
and then

    loss = −ŝ_answer,            accuracy = [argmax_c s_c == answer].

A model that ignores the task gets loss log(n_classes); inverse scaling means this loss *rises*
with model size.

Tokenisation at the boundary. With sub-word tokenizers, the tokens of ``prompt + class`` need not
be the tokens of the prompt followed by those of the class: "…the ma" + "t" may become "…the" +
"mat". Two conventions are implemented (``boundary=``, :data:`BOUNDARIES`):

- ``"joint"`` (default): encode ``prompt`` and ``prompt + class``; the class's tokens are the
  joint encoding's tokens after the longest prefix it shares with the prompt's own encoding. A
  merged token is thus scored as part of the class, conditioned on the prompt tokens before it.
  When nothing merges (the usual case, since classes start with a space) this is exactly
  "prompt tokens, then class tokens".
- ``"separate"``: encode the prompt and the class separately and concatenate the ids (as
  lm-evaluation-harness does for context and continuation); the class is scored as its own
  tokens even where joint tokenisation would have merged them.

What the module holds:

- the data: :class:`PrizeExample` (one example; :func:`as_examples` converts rows),
  :func:`load_prize_task` (prize-format rows from a local jsonl file, or from the Hugging Face hub —
  needs the internet), :func:`write_prize_jsonl`, and :data:`PRIZE_CLASSIFICATION_TASKS` (the winning
  classification tasks' hub names);
- the metric itself, pure NumPy: :func:`classification_metric`;
- scoring with any ``logits_fn(ids) -> logits`` and ``encode(text) -> ids``: :func:`class_token_span`
  (the tokens of one class and where they start), :func:`sequence_logprob_sums` (batched, right-padded),
  :func:`class_logprobs` and :func:`evaluate_classification`; :func:`score_two_class_tests` (every two-class
  test set of a corpus: mean loss, accuracy and each item's margin);
- Hugging Face ``transformers`` models: :func:`hf_logits_fn`, :func:`hf_encode`,
  :func:`evaluate_causal_lm` (one model and its tokenizer), :func:`load_hf_model`, :func:`count_params`
  (non-embedding parameters) and :func:`evaluate_hf_family` (a family of sizes, e.g.
  :data:`HF_FAMILIES`' Pythia or GPT-2; any offline ``load`` may stand in for the hub).

Used by: chapter 02 (inverse scaling: the test sets of its memo-trap and imitation corpora, scored on
the book's transformers, and the real Pythia / GPT-2 ladders on the prize's Memo Trap task).
"""

from __future__ import annotations

import ast
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np
import torch
import torch.nn.functional as F

#: The two tokenisation conventions at the prompt–class boundary (see the module docstring). Used by chapter 02.
BOUNDARIES = ("joint", "separate")

#: Model families a reader with the internet can evaluate (Hugging Face hub names), smallest first.
#: Used by chapter 02.
HF_FAMILIES = {
    "pythia": ["EleutherAI/pythia-70m", "EleutherAI/pythia-160m", "EleutherAI/pythia-410m",
               "EleutherAI/pythia-1b", "EleutherAI/pythia-1.4b", "EleutherAI/pythia-2.8b"],
    "gpt2": ["gpt2", "gpt2-medium", "gpt2-large", "gpt2-xl"],
}

#: Classification tasks among the prize's winners (hub names under ``inverse-scaling/``).
PRIZE_CLASSIFICATION_TASKS = ("memo-trap", "redefine-math", "neqa", "hindsight-neglect",
                              "pattern-matching-suppression", "modus-tollens", "into-the-unknown",
                              "sig-figs", "repetitive-algebra", "resisting-correction")


@dataclass(frozen=True)
class PrizeExample:
    """One classification example in the prize's format. Used by chapter 02."""

    prompt: str
    classes: tuple[str, ...]
    answer_index: int

    def __post_init__(self):
        if len(self.classes) < 2:
            raise ValueError(f"an example needs at least two classes, got {self.classes!r}")
        if not 0 <= self.answer_index < len(self.classes):
            raise ValueError(f"answer_index {self.answer_index} out of range for {len(self.classes)} classes")

    @classmethod
    def from_row(cls, row: dict) -> "PrizeExample":
        """Accept the hub's and the jsonl's spellings (``classes`` may be a list or its repr)."""
        classes = row["classes"]
        if isinstance(classes, str):
            classes = ast.literal_eval(classes)
        return cls(prompt=str(row["prompt"]), classes=tuple(str(c) for c in classes),
                   answer_index=int(row["answer_index"]))


def as_examples(rows: Iterable) -> list[PrizeExample]:
    """``PrizeExample`` objects from rows (dicts) or examples. Used by chapter 02."""
    return [r if isinstance(r, PrizeExample) else PrizeExample.from_row(r) for r in rows]


# ---------------------------------------------------------------------------------------------
# The metric


def classification_metric(class_logprobs, answer_index) -> dict:
    """The prize's classification loss and accuracy from summed class log-probabilities.

    ``class_logprobs``: (n_examples, n_classes) array of s_c (padded with -inf for examples with
    fewer classes); ``answer_index``: (n_examples,). Returns per-example ``loss`` (−log-softmax of
    the correct class), ``correct`` (argmax is the answer), ``normalised`` log-probabilities, and
    their means ``mean_loss`` and ``accuracy``. Used by chapter 02.
    """
    s = np.asarray(class_logprobs, dtype=np.float64)
    answer = np.asarray(answer_index, dtype=np.int64)
    if s.ndim != 2 or len(s) != len(answer):
        raise ValueError(f"class_logprobs must be (n, n_classes) matching answer_index; got {s.shape}, {answer.shape}")
    top = s.max(axis=1, keepdims=True)
    normalised = s - (top + np.log(np.exp(s - top).sum(axis=1, keepdims=True)))  # log-softmax over classes
    loss = -normalised[np.arange(len(s)), answer]
    correct = s.argmax(axis=1) == answer
    return {"loss": loss, "correct": correct, "normalised": normalised,
            "mean_loss": float(loss.mean()), "accuracy": float(correct.mean())}


# ---------------------------------------------------------------------------------------------
# From text to token positions


def class_token_span(encode: Callable[[str], list[int]], prompt: str, class_string: str,
                     boundary: str = "joint") -> tuple[list[int], int]:
    """Token ids to run the model on and the index of the first token that belongs to the class.

    The class's log-probability is the sum over positions ``start ≤ t < len(ids)`` of
    log p(ids[t] | ids[:t]). See the module docstring for the two ``boundary`` conventions. Used by chapter 02.
    """
    if boundary not in BOUNDARIES:
        raise ValueError(f"boundary must be one of {BOUNDARIES}; got {boundary!r}")
    prompt_ids = list(encode(prompt))
    if boundary == "separate":
        class_ids = list(encode(class_string))
        ids, start = prompt_ids + class_ids, len(prompt_ids)
    else:
        ids = list(encode(prompt + class_string))
        start = 0
        while start < min(len(ids), len(prompt_ids)) and ids[start] == prompt_ids[start]:
            start += 1
    if start == 0:
        raise ValueError("the prompt has no token before the class: nothing to condition on "
                         "(prepend a beginning-of-text token to the prompt)")
    if start >= len(ids):
        raise ValueError(f"class {class_string!r} adds no token after prompt {prompt[-30:]!r}")
    return ids, start


def sequence_logprob_sums(logits_fn: Callable[[torch.Tensor], torch.Tensor],
                          sequences: Sequence[tuple[list[int], int]], batch_size: int = 64,
                          pad_id: int = 0, device: torch.device | str | None = None) -> np.ndarray:
    """Σ_{t ≥ start} log p(ids[t] | ids[:t]) for each ``(ids, start)``, in batches.

    ``logits_fn`` maps a (B, T) LongTensor to (B, T, vocab) logits (causal: position t sees ≤ t).
    Sequences are right-padded with ``pad_id``; padding never influences earlier positions of a
    causal model and is excluded from the sums. Used by chapter 02.
    """
    out = np.empty(len(sequences))
    order = np.argsort([len(ids) for ids, _ in sequences])  # similar lengths share a batch
    for b in range(0, len(order), batch_size):
        chunk = [sequences[i] for i in order[b:b + batch_size]]
        T = max(len(ids) for ids, _ in chunk)
        ids = torch.full((len(chunk), T), pad_id, dtype=torch.long)
        mask = torch.zeros((len(chunk), T - 1), dtype=torch.bool)  # mask[t]: target ids[t+1] counts
        for r, (seq, start) in enumerate(chunk):
            ids[r, :len(seq)] = torch.tensor(seq)
            mask[r, start - 1:len(seq) - 1] = True
        if device is not None:
            ids = ids.to(device)
        with torch.no_grad():
            logits = logits_fn(ids).float()  # (B, T, V)
        logp = F.log_softmax(logits[:, :-1], dim=-1)  # (B, T-1, V): predictions for ids[:, 1:]
        target_logp = logp.gather(-1, ids[:, 1:, None]).squeeze(-1).cpu()  # (B, T-1)
        sums = (target_logp * mask).sum(dim=1).double().numpy()
        out[order[b:b + batch_size]] = sums
    return out


def class_logprobs(logits_fn: Callable[[torch.Tensor], torch.Tensor], encode: Callable[[str], list[int]],
                   examples: Iterable, boundary: str = "joint", batch_size: int = 64,
                   pad_id: int = 0, device: torch.device | str | None = None) -> np.ndarray:
    """(n_examples, max_classes) summed class log-probabilities s_c (−inf where a class is absent).
    Used by chapter 02."""
    examples = as_examples(examples)
    sequences, where = [], []
    for i, ex in enumerate(examples):
        for c, class_string in enumerate(ex.classes):
            sequences.append(class_token_span(encode, ex.prompt, class_string, boundary))
            where.append((i, c))
    sums = sequence_logprob_sums(logits_fn, sequences, batch_size=batch_size, pad_id=pad_id, device=device)
    s = np.full((len(examples), max(len(ex.classes) for ex in examples)), -np.inf)
    for (i, c), value in zip(where, sums):
        s[i, c] = value
    return s


def evaluate_classification(logits_fn, encode, examples, boundary: str = "joint", batch_size: int = 64,
                            pad_id: int = 0, device=None) -> dict:
    """Score ``examples`` with the prize's metric: ``mean_loss``, ``accuracy`` and per-example arrays.
    Used by chapter 02."""
    examples = as_examples(examples)
    s = class_logprobs(logits_fn, encode, examples, boundary, batch_size, pad_id, device)
    result = classification_metric(s, [ex.answer_index for ex in examples])
    result["class_logprobs"] = s
    return result


def score_two_class_tests(model, encode, tests: dict, device=None, batch_size: int = 256) -> dict:
    """The prize's metric on every two-class test set of ``tests`` (name -> rows): per set the mean loss,
    the accuracy and every item's margin (normalised log-probability of the correct class minus the other's).
    Used by chapter 02 (both corpora)."""
    scores = {}
    for name, rows in tests.items():
        out = evaluate_classification(model, encode, rows, device=device, batch_size=batch_size)
        answer = np.array([r["answer_index"] for r in rows])
        other = np.array([1 - a if len(r["classes"]) == 2 else -1 for a, r in zip(answer, rows)])
        if (other < 0).any():
            raise ValueError(f"test set {name}: margins need two classes per item")
        idx = np.arange(len(rows))
        margin = out["normalised"][idx, answer] - out["normalised"][idx, other]
        scores[name] = {"loss": out["mean_loss"], "accuracy": out["accuracy"],
                        "margins": [round(float(m), 6) for m in margin]}
    return scores


# ---------------------------------------------------------------------------------------------
# Hugging Face models


def hf_logits_fn(model) -> Callable[[torch.Tensor], torch.Tensor]:
    """``ids -> logits`` for a ``transformers`` causal LM (eval mode, no attention mask needed:
    padding is on the right and causal attention never looks ahead). Used by chapter 02."""
    model.eval()
    return lambda ids: model(input_ids=ids).logits


def hf_encode(tokenizer) -> Callable[[str], list[int]]:
    """``text -> ids`` without special tokens (the prize scores the raw prompt). Used by chapter 02."""
    return lambda text: tokenizer(text, add_special_tokens=False)["input_ids"]


def evaluate_causal_lm(model, tokenizer, examples, boundary: str = "joint", batch_size: int = 16) -> dict:
    """The prize's metric for one Hugging Face causal LM and its tokenizer. Used by chapter 02."""
    device = next(model.parameters()).device
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    return evaluate_classification(hf_logits_fn(model), hf_encode(tokenizer), examples, boundary,
                                   batch_size=batch_size, pad_id=pad_id, device=device)


def load_hf_model(name: str, device: torch.device | str | None = None):
    """Download (or read from the local cache) a causal LM and its tokenizer. Needs the internet
    the first time. Used by chapter 02."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(name)
    model = AutoModelForCausalLM.from_pretrained(name)
    if device is not None:
        model.to(device)
    return model, tokenizer


def count_params(model, non_embedding: bool = True) -> int:
    """Parameters of a torch model; with ``non_embedding`` the input-embedding matrix (and a
    position-embedding matrix, when the model exposes one as ``wpe``) is left out. Used by chapter 02."""
    total = sum(p.numel() for p in model.parameters())
    if not non_embedding:
        return total
    if hasattr(model, "get_input_embeddings") and model.get_input_embeddings() is not None:
        total -= model.get_input_embeddings().weight.numel()
    for module in model.modules():
        if hasattr(module, "wpe") and isinstance(getattr(module, "wpe"), torch.nn.Embedding):
            total -= module.wpe.weight.numel()
    return total


def evaluate_hf_family(names: Sequence[str], examples, load: Callable | None = None,
                       boundary: str = "joint", batch_size: int = 16):
    """Evaluate every model in ``names`` (smallest first) on ``examples``.

    ``load(name) -> (model, tokenizer)`` defaults to :func:`load_hf_model` (hub download); tests
    pass a loader that builds tiny random models offline. Returns a DataFrame with one row per
    model: name, non-embedding parameters, loss, accuracy. Used by chapter 02.
    """
    import pandas as pd

    load = load or load_hf_model
    examples = as_examples(examples)
    rows = []
    for name in names:
        model, tokenizer = load(name)
        result = evaluate_causal_lm(model, tokenizer, examples, boundary=boundary, batch_size=batch_size)
        rows.append({"model": name, "params": count_params(model), "loss": result["mean_loss"],
                     "accuracy": result["accuracy"], "n_examples": len(examples)})
        del model
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------------------------
# Prize-format data


def load_prize_task(task: str, split: str | None = None, limit: int | None = None) -> list[PrizeExample]:
    """Rows of a prize classification task.

    ``task`` is a path to a local ``.jsonl`` file (one JSON object per line with ``prompt``,
    ``classes``, ``answer_index``) — no network — or a task name such as ``"memo-trap"``, loaded
    with ``datasets.load_dataset("inverse-scaling/<task>")`` (needs the internet). Used by chapter 02.
    """
    path = Path(task)
    if path.suffix == ".jsonl" or path.exists():
        rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    else:
        from datasets import load_dataset

        dataset = load_dataset(f"inverse-scaling/{task}")
        split = split or next(iter(dataset.keys()))
        rows = list(dataset[split])
    examples = as_examples(rows)
    return examples[:limit] if limit is not None else examples


def write_prize_jsonl(rows: Iterable, path: str | Path) -> Path:
    """Write rows (dicts or examples) as prize-format jsonl. Used by chapter 02."""
    path = Path(path)
    with path.open("w") as f:
        for ex in as_examples(rows):
            f.write(json.dumps({"prompt": ex.prompt, "classes": list(ex.classes),
                                "answer_index": ex.answer_index}) + "\n")
    return path
