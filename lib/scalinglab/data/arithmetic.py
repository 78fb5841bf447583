"""Seeded integer arithmetic problems for small language models.

A problem is ``a+b=`` (or ``a*b=``) followed by the answer, written digit by digit. Operands
of an n-digit problem are drawn uniformly from [0, 10^n) and zero-padded to n digits; the answer
is zero-padded to a fixed width (n + 1 digits for addition, 2n for multiplication), so that every
problem of one kind has the same number of answer tokens L — the "target length" of Schaeffer et
al. (2023), Sec. 3. With ``reverse_answer=True`` the answer is written least-significant digit
first, the order in which a causal model can compute carries one token at a time (Lee et al.
2023, "Teaching arithmetic to small transformers").

Held-out problems by construction: with ``held_out_fraction > 0`` a fixed hash of each problem
(operation, operand length, a, b) puts it in the test part of the problem space or in the training
part (:func:`held_out_mask`). :func:`training_batch` never draws a test problem and
:func:`make_problems` draws only test problems, so no operand pair of any test set occurs in training.

Tokens: the digits 0-9 are tokens 0-9; then ``+``, ``*``, ``=`` and a padding token. A batch of
mixed-length problems is right-padded; training targets are -100 everywhere except on answer
tokens, so :func:`scalinglab.models.lm_loss` counts only the answer.

Used by: chapter 01 (emergence).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch

DIGITS = "0123456789"
PLUS, TIMES, EQUALS, PAD = 10, 11, 12, 13
VOCAB = DIGITS + "+*=_"  # token id -> character ('_' is padding)
VOCAB_SIZE = len(VOCAB)
IGNORE = -100
OPERATIONS = ("add", "mul")


@dataclass(frozen=True)
class ArithmeticTask:
    """Which problems: the operation and the operand lengths (digits) drawn uniformly in training."""

    operation: str = "add"
    digits: tuple[int, ...] = (1, 2, 3, 4, 5)
    reverse_answer: bool = True
    second_digits: int | None = None  # digits of the second operand; None: as many as the first
    second_min: int = 0  # smallest second operand (2 leaves out the trivial ×0 and ×1)
    held_out_fraction: float = 0.0  # share of the problem space kept for testing (hash split); 0: none

    def __post_init__(self):
        if self.operation not in OPERATIONS:
            raise ValueError(f"ArithmeticTask.operation must be one of {OPERATIONS}, got {self.operation!r}")
        if not self.digits or any((not isinstance(d, int)) or d < 1 or d > 9 for d in self.digits):
            raise ValueError(f"ArithmeticTask.digits must be integers in [1, 9], got {self.digits!r}")
        if self.second_digits is not None and not (isinstance(self.second_digits, int) and 1 <= self.second_digits <= 9):
            raise ValueError(f"ArithmeticTask.second_digits must be None or an integer in [1, 9], got {self.second_digits!r}")
        if not 0 <= self.second_min < 10 ** self.b_digits(min(self.digits)):
            raise ValueError(f"ArithmeticTask.second_min must be in [0, 10^digits), got {self.second_min!r}")
        if not 0.0 <= self.held_out_fraction < 1.0:
            raise ValueError(f"ArithmeticTask.held_out_fraction must be in [0, 1), got {self.held_out_fraction!r}")

    def b_digits(self, n_digits: int) -> int:
        """Digits of the second operand of an n-digit problem."""
        return n_digits if self.second_digits is None else self.second_digits

    def answer_length(self, n_digits: int) -> int:
        """Answer tokens L of an n-digit problem: max(n, m) + 1 for addition, n + m for multiplication
        (m = digits of the second operand)."""
        m = self.b_digits(n_digits)
        return max(n_digits, m) + 1 if self.operation == "add" else n_digits + m

    def prompt_length(self, n_digits: int) -> int:
        """Tokens before the answer: two operands, the operator and '='."""
        return n_digits + self.b_digits(n_digits) + 2

    def max_length(self) -> int:
        """Longest full sequence (prompt + answer) — the context the model needs."""
        return max(self.prompt_length(n) + self.answer_length(n) for n in self.digits)

    def spec(self) -> dict:
        return {"name": "integer-arithmetic", **asdict(self), "digits": list(self.digits)}


def _digits_of(values: np.ndarray, width: int, reverse: bool = False) -> np.ndarray:
    """(n,) non-negative integers -> (n, width) digit array, most significant first (or reversed)."""
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)  # (width,)
    digits = (values[:, None] // powers[None, :]) % 10  # (n, width)
    return digits[:, ::-1] if reverse else digits


_MASK64 = np.uint64(0xFFFF_FFFF_FFFF_FFFF)


def _splitmix64(z: np.ndarray) -> np.ndarray:
    """SplitMix64's finaliser (Steele, Lea & Flood 2014): a fixed, well-mixed 64-bit hash of uint64s."""
    with np.errstate(over="ignore"):
        z = z + np.uint64(0x9E37_79B9_7F4A_7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58_476D_1CE4_E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D0_49BB_1331_11EB)
        return z ^ (z >> np.uint64(31))


def problem_hash(operation: str, n_digits: int, a, b) -> np.ndarray:
    """A number in [0, 1) per problem, fixed by (operation, operand length, a, b) alone."""
    a, b = np.asarray(a, np.uint64), np.asarray(b, np.uint64)
    salt = np.uint64((OPERATIONS.index(operation) + 1) * 97 + n_digits)
    z = _splitmix64(_splitmix64(a ^ (salt << np.uint64(40))) ^ b)
    return (z >> np.uint64(11)).astype(np.float64) / 2.0**53


def held_out_mask(task: "ArithmeticTask", a, b, n_digits: int) -> np.ndarray:
    """True where the problem a ∘ b (n_digits-digit operands) belongs to the test part of the space."""
    return problem_hash(task.operation, n_digits, a, b) < task.held_out_fraction


def sample_operands(n: int, n_digits: int, rng: np.random.Generator,
                    b_digits: int | None = None, b_min: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two arrays of n operands, uniform in [0, 10^n_digits) and [b_min, 10^b_digits)."""
    b_digits = n_digits if b_digits is None else b_digits
    return (rng.integers(0, 10**n_digits, n, dtype=np.int64),
            rng.integers(b_min, 10**b_digits, n, dtype=np.int64))


@dataclass
class ProblemSet:
    """Problems of one operand length, as token arrays (all rows have the same shape)."""

    prompts: torch.Tensor  # (n, prompt_length) long
    answers: torch.Tensor  # (n, answer_length) long
    a: np.ndarray
    b: np.ndarray
    n_digits: int

    def __len__(self) -> int:
        return len(self.a)

    @property
    def answer_length(self) -> int:
        return self.answers.shape[1]

    def sequences(self) -> torch.Tensor:
        """Prompt and answer joined: (n, prompt_length + answer_length)."""
        return torch.cat([self.prompts, self.answers], dim=1)


_ENUMERATE_LIMIT = 2**22  # problem spaces up to this size are enumerated to sample without replacement


def make_problems(task: ArithmeticTask, n: int, n_digits: int, seed: int) -> ProblemSet:
    """``n`` problems with ``n_digits``-digit operands drawn from ``seed`` (deterministic).

    With ``task.held_out_fraction > 0`` only held-out (test) problems are drawn, without
    replacement when the space is small enough to enumerate — so fewer than ``n`` come back when
    the held-out part of the space is smaller than ``n``.
    """
    rng = np.random.default_rng([seed, n_digits, OPERATIONS.index(task.operation)])
    m = task.b_digits(n_digits)
    if task.held_out_fraction <= 0:
        a, b = sample_operands(n, n_digits, rng, m, task.second_min)
        return encode_problems(task, a, b, n_digits)
    n_b = 10**m - task.second_min
    if 10**n_digits * n_b <= _ENUMERATE_LIMIT:
        flat = np.arange(10**n_digits * n_b, dtype=np.int64)
        a_all, b_all = flat // n_b, flat % n_b + task.second_min
        pool = np.flatnonzero(held_out_mask(task, a_all, b_all, n_digits))
        pick = rng.choice(pool, size=min(n, len(pool)), replace=False)
        return encode_problems(task, a_all[pick], b_all[pick], n_digits)
    a_parts, b_parts, have = [], [], 0
    while have < n:
        a, b = sample_operands(4 * n, n_digits, rng, m, task.second_min)
        keep = held_out_mask(task, a, b, n_digits)
        a_parts.append(a[keep]), b_parts.append(b[keep])
        have += int(keep.sum())
    return encode_problems(task, np.concatenate(a_parts)[:n], np.concatenate(b_parts)[:n], n_digits)


def encode_problems(task: ArithmeticTask, a: np.ndarray, b: np.ndarray, n_digits: int) -> ProblemSet:
    """Token arrays of the problems a ∘ b (∘ = task.operation) with n_digits-digit operands."""
    a, b = np.asarray(a, np.int64), np.asarray(b, np.int64)
    result = a + b if task.operation == "add" else a * b
    op = PLUS if task.operation == "add" else TIMES
    n = len(a)
    prompts = np.concatenate([
        _digits_of(a, n_digits), np.full((n, 1), op), _digits_of(b, task.b_digits(n_digits)), np.full((n, 1), EQUALS)
    ], axis=1)  # (n, n_digits + b_digits + 2)
    answers = _digits_of(result, task.answer_length(n_digits), reverse=task.reverse_answer)
    return ProblemSet(prompts=torch.from_numpy(prompts.copy()).long(),
                      answers=torch.from_numpy(answers.copy()).long(), a=a, b=b, n_digits=n_digits)


def decode_answer(tokens, task: ArithmeticTask) -> int | None:
    """Integer written by answer tokens (None if a token is not a digit)."""
    tokens = [int(t) for t in tokens]
    if any(t > 9 or t < 0 for t in tokens):
        return None
    if task.reverse_answer:
        tokens = tokens[::-1]
    return int("".join(DIGITS[t] for t in tokens))


def to_text(tokens) -> str:
    """Token ids -> string, e.g. '12+34=640' (answer as written, possibly reversed)."""
    return "".join(VOCAB[int(t)] for t in tokens)


def training_batch(task: ArithmeticTask, batch_size: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """A batch of (inputs, targets) of problems with operand lengths drawn uniformly from ``task.digits``.

    Sequences are right-padded to ``task.max_length()``; targets are the next token on answer
    positions and -100 elsewhere, so the loss counts answer tokens only. Draws only from
    ``generator`` (the training loop seeds it), so the data order is reproducible. Held-out
    problems (``task.held_out_fraction``) are redrawn, so they never occur in training.
    """
    seed = int(torch.randint(0, 2**31 - 1, (1,), generator=generator))
    rng = np.random.default_rng(seed)
    lengths = rng.choice(np.asarray(task.digits), size=batch_size)
    T = task.max_length()
    tokens = torch.full((batch_size, T), PAD, dtype=torch.long)
    targets = torch.full((batch_size, T), IGNORE, dtype=torch.long)
    for n_digits in np.unique(lengths):
        rows = np.flatnonzero(lengths == n_digits)
        a, b = sample_operands(len(rows), int(n_digits), rng, task.b_digits(int(n_digits)),
                               task.second_min)
        if task.held_out_fraction > 0:  # redraw test problems until every row is a training problem
            bad = np.flatnonzero(held_out_mask(task, a, b, int(n_digits)))
            while len(bad):
                a[bad], b[bad] = sample_operands(len(bad), int(n_digits), rng, task.b_digits(int(n_digits)),
                                                 task.second_min)
                bad = bad[held_out_mask(task, a[bad], b[bad], int(n_digits))]
        problems = encode_problems(task, a, b, int(n_digits))
        seq = problems.sequences()  # (rows, P + L)
        P, L = problems.prompts.shape[1], problems.answer_length
        rows_t = torch.from_numpy(rows)
        tokens[rows_t, : P + L] = seq
        # position t predicts token t + 1: answer tokens sit at P .. P+L-1, predicted from P-1 .. P+L-2
        targets[rows_t, P - 1: P + L - 1] = problems.answers
    return tokens[:, :-1], targets[:, :-1]


def problems_dataset(task: ArithmeticTask, n: int, n_digits: int, seed: int):
    """The problems of :func:`make_problems` as a ``datasets.Dataset`` (columns: a, b, prompt, answer, text)."""
    from datasets import Dataset

    problems = make_problems(task, n, n_digits, seed)
    return Dataset.from_dict({
        "a": problems.a.tolist(), "b": problems.b.tolist(),
        "prompt": problems.prompts.tolist(), "answer": problems.answers.tolist(),
        "text": [to_text(s) for s in problems.sequences()],
    })
