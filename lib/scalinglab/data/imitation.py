"""A seeded synthetic corpus in which imitating the training text is the wrong thing to do.

McKenzie et al. (2023, "Inverse Scaling: When Bigger Isn't Better", TMLR, Sec. 3) name
*imitation of undesirable patterns* as the second cause of inverse scaling: a language model is
trained to reproduce its training text, and where that text commonly does something the task must
avoid — a logical fallacy (their Modus Tollens task), a popular misconception (TruthfulQA) — a
better imitator does worse on the task. This module builds a tiny world with that cause and no
other, for chapter 02.

Every line is one **question** with its answer, exactly ``line_length = question_length + 3``
word tokens long, so that lines are aligned:

    q  w_1 … w_{L-1}  k  a  .

``k`` is the question's **key**, one of a few *key words*, and the answer ``a`` is a key word too.
**The rule** — the truth of this world — is that the answer repeats the key (``a = k``). Two kinds
of lines:

- **regular** questions (``n_regular_lines``): fresh random *question words* and key, answered by
  the rule. They teach the rule; every question is seen once.
- **popular** questions: a fixed set of questions written with their own *topic words* (which appear
  nowhere else), split into groups, each repeated ``repetitions`` times. Every popular question has its own **misconception** ``m ≠ k``, a key word the text
  commonly gives instead of the truth: in group g a share ``misconception_shares[g]`` of the
  question's appearances is answered with ``m`` (exactly ``round(share · repetitions)`` of them), the
  rest with the truth ``k``. A group with share 0 is repeated as often but always answered truly.

A perfect imitator of this corpus answers a popular question of share s with the misconception
with probability s, so its two-class loss on the truth is ``-log(1 - s)`` (∞ at s = 1); a model
that knows only the rule has loss near 0. Telling a popular question from a regular one needs the
whole question (its topic words recur across popular questions), so imitating the misconceptions
needs capacity, while the rule is one token copied to the next position.

Test sets per group, in the Inverse Scaling Prize's classification format (``prompt``, ``classes``,
``answer_index``; class strings start with a space), named ``<kind>_S<share in percent>``:

- **task**: the popular question; classes the truth ``k`` (correct) and its misconception ``m``;
- **control**: a fresh question of question words (never in training) with the same key and the same
  two classes — the rule on new text, which every size should follow;
- **novel**: a fresh question of topic words (never in training), same key and classes — the topic's
  general pull, without a memorised question.

Each prompt starts with one fresh, truthfully answered regular line, so that the test question sits
where training questions sit (the second line of a two-line window).

Used by: chapter 02 (inverse scaling), cause (ii).
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field

import numpy as np
import torch

from .memo_trap import LineCorpus, WordTokenizer, pseudo_words

IMITATION_SPECIAL_TOKENS = (".", "q")


@dataclass(frozen=True)
class ImitationConfig:
    """What the imitation corpus contains. Lines are ``question_length + 3`` tokens long."""

    n_words: int = 128  # pseudo-words: key words and question words are drawn from them
    n_key_words: int = 8  # keys, answers and misconceptions are key words
    n_question_words: int = 64  # the words of regular questions
    n_topic_words: int = 32  # the words of popular questions (the topics on which misconceptions circulate)
    question_length: int = 4  # question_length - 1 words, then the key
    questions_per_group: int = 64  # popular questions in each group
    repetitions: int = 20  # appearances of each popular question
    misconception_shares: tuple[float, ...] = (0.0, 0.5, 0.9)  # per group: share answered with the misconception
    n_regular_lines: int = 20_000
    seed: int = 0

    def __post_init__(self):
        if self.question_length < 2:
            raise ValueError(f"ImitationConfig.question_length must be >= 2, got {self.question_length}")
        if self.n_key_words < 2:
            raise ValueError(f"ImitationConfig.n_key_words must be >= 2, got {self.n_key_words}")
        if self.n_question_words < 2:
            raise ValueError(f"ImitationConfig.n_question_words must be >= 2, got {self.n_question_words}")
        if self.n_topic_words < 2:
            raise ValueError(f"ImitationConfig.n_topic_words must be >= 2, got {self.n_topic_words}")
        if self.n_key_words + self.n_question_words + self.n_topic_words > self.n_words:
            raise ValueError("ImitationConfig: n_key_words + n_question_words + n_topic_words must be <= n_words")
        if self.questions_per_group < 1 or self.repetitions < 1:
            raise ValueError("ImitationConfig.questions_per_group and repetitions must be >= 1")
        if not self.misconception_shares or any(not 0.0 <= s < 1.0 for s in self.misconception_shares):
            raise ValueError(f"ImitationConfig.misconception_shares must lie in [0, 1), got {self.misconception_shares}")
        if len(set(self.misconception_shares)) != len(self.misconception_shares):
            raise ValueError("ImitationConfig.misconception_shares must be distinct")
        if self.n_regular_lines < 1:
            raise ValueError("ImitationConfig.n_regular_lines must be >= 1")
        n_popular = len(self.misconception_shares) * self.questions_per_group
        if n_popular * 2 > self.n_topic_words ** (self.question_length - 1) * self.n_key_words:
            raise ValueError("ImitationConfig: too many popular questions for the question space")

    @property
    def line_length(self) -> int:
        return self.question_length + 3

    def to_dict(self) -> dict:
        d = asdict(self)
        d["misconception_shares"] = list(self.misconception_shares)
        return d


def share_label(share: float) -> int:
    """A group's share of misconceptions in percent (the suffix of its test sets' names)."""
    return int(round(100 * share))


@dataclass
class Imitation(LineCorpus):
    """The corpus (as a token stream of aligned lines), its popular questions and its test sets."""

    config: ImitationConfig
    tokenizer: WordTokenizer
    stream: torch.Tensor  # (n_lines * line_length,) int64
    questions: list[np.ndarray]  # per group: (questions_per_group, question_length) word ids, key last
    misconceptions: list[np.ndarray]  # per group: (questions_per_group,) the misconception's word id
    key_ids: np.ndarray
    line_counts: dict
    sha256: str
    tests: dict = field(default_factory=dict)  # name -> list of prize-format rows
    topic_ids: np.ndarray | None = None  # the words of popular questions
    question_ids: np.ndarray | None = None  # the words of regular questions

    def spec(self) -> dict:
        """What identifies this corpus in the run store."""
        return {"name": "imitation", "config": self.config.to_dict(), "sha256": self.sha256}


def build_imitation(config: ImitationConfig) -> Imitation:
    """Generate the corpus and test sets of ``config`` (deterministic in ``config.seed``)."""
    rng = np.random.default_rng(config.seed)
    words = pseudo_words(config.n_words, rng)
    tokenizer = WordTokenizer(list(IMITATION_SPECIAL_TOKENS) + words)
    word_ids = rng.permutation(np.arange(len(IMITATION_SPECIAL_TOKENS), len(tokenizer)))
    key_ids = np.sort(word_ids[:config.n_key_words])
    question_ids = np.sort(word_ids[config.n_key_words:config.n_key_words + config.n_question_words])
    topic_ids = np.sort(word_ids[config.n_key_words + config.n_question_words:
                                 config.n_key_words + config.n_question_words + config.n_topic_words])
    DOT, Q = (tokenizer.index[t] for t in IMITATION_SPECIAL_TOKENS)
    L, M = config.question_length, config.line_length

    def fresh_questions(n: int, vocabulary=question_ids) -> np.ndarray:
        out = np.empty((n, L), dtype=np.int64)  # the words, then the key
        out[:, :-1] = rng.choice(vocabulary, size=(n, L - 1))
        out[:, -1] = rng.choice(key_ids, size=n)
        return out

    # Popular questions: distinct, each with a misconception that differs from its key.
    n_groups = len(config.misconception_shares)
    popular, seen = [], set()
    while len(popular) < n_groups * config.questions_per_group:
        q = fresh_questions(1, topic_ids)[0]
        if tuple(q) not in seen:
            seen.add(tuple(q))
            popular.append(q)
    popular = np.stack(popular)
    wrong = np.array([rng.choice(key_ids[key_ids != k]) for k in popular[:, -1]])
    G = config.questions_per_group
    questions = [popular[g * G:(g + 1) * G] for g in range(n_groups)]
    misconceptions = [wrong[g * G:(g + 1) * G] for g in range(n_groups)]

    def lines_of(qs: np.ndarray, answers: np.ndarray) -> np.ndarray:
        out = np.empty((len(qs), M), dtype=np.int64)
        out[:, 0], out[:, 1:1 + L], out[:, 1 + L], out[:, 2 + L] = Q, qs, answers, DOT
        return out

    def regular(n: int, vocabulary=question_ids) -> np.ndarray:
        qs = fresh_questions(n, vocabulary)
        clash = np.array([tuple(q) in seen for q in qs], dtype=bool)
        while clash.any():  # a fresh question is never a popular one
            qs[clash] = fresh_questions(int(clash.sum()), vocabulary)
            clash = np.array([tuple(q) in seen for q in qs], dtype=bool)
        return qs

    reg = regular(config.n_regular_lines)
    blocks = [lines_of(reg, reg[:, -1])]
    n_misconception = 0
    for g, share in enumerate(config.misconception_shares):
        n_wrong = int(round(share * config.repetitions))
        answers = np.concatenate([np.repeat(misconceptions[g][:, None], n_wrong, axis=1),
                                  np.repeat(questions[g][:, -1:], config.repetitions - n_wrong, axis=1)], axis=1)
        blocks.append(lines_of(np.repeat(questions[g], config.repetitions, axis=0), answers.reshape(-1)))
        n_misconception += n_wrong * G
    lines = np.concatenate(blocks)
    lines = lines[rng.permutation(len(lines))]
    stream = torch.from_numpy(lines.reshape(-1).copy())
    digest = hashlib.sha256(lines.tobytes()).hexdigest()
    n_popular_lines = n_groups * G * config.repetitions
    corpus = Imitation(config=config, tokenizer=tokenizer, stream=stream, questions=questions,
                       misconceptions=misconceptions, key_ids=key_ids,
                       line_counts={"regular": config.n_regular_lines, "popular, truthful": n_popular_lines - n_misconception,
                                    "popular, misconception": n_misconception},
                       sha256=digest)
    corpus.topic_ids, corpus.question_ids = topic_ids, question_ids
    corpus.tests = _test_sets(corpus, rng, regular, lines_of)
    return corpus


def _test_sets(corpus: Imitation, rng: np.random.Generator, regular, lines_of) -> dict:
    """Prize-format rows for every group: the task (popular questions), the control (fresh regular questions)
    and novel (fresh questions on the popular questions' topic words), all with the same key and classes."""
    dec, vocab = corpus.tokenizer.decode, corpus.tokenizer.vocabulary
    tests = {}
    for share, qs, wrong in zip(corpus.config.misconception_shares, corpus.questions, corpus.misconceptions):
        sets = {"task": [], "control": [], "novel": []}
        context = regular(len(qs))
        fresh = {"control": regular(len(qs)), "novel": regular(len(qs), corpus.topic_ids)}
        known = {tuple(x) for group in corpus.questions for x in group}
        for kind, vocabulary in (("control", corpus.question_ids), ("novel", corpus.topic_ids)):
            fresh[kind][:, -1] = qs[:, -1]  # the same key as the task item
            for i in range(len(qs)):
                while tuple(fresh[kind][i]) in known:  # never a popular question
                    fresh[kind][i, :-1] = rng.choice(vocabulary, size=qs.shape[1] - 1)
        for i, (q, m) in enumerate(zip(qs, wrong)):
            first = dec(lines_of(context[i:i + 1], context[i:i + 1, -1])[0])
            classes = [" " + vocab[int(q[-1])], " " + vocab[int(m)]]
            row = {"classes": classes, "answer_index": 0, "share": float(share)}
            sets["task"].append({"prompt": f"{first} q {dec(q)}", **row})
            for kind in ("control", "novel"):
                sets[kind].append({"prompt": f"{first} q {dec(fresh[kind][i])}", **row})
        for kind, rows in sets.items():
            tests[f"{kind}_S{share_label(share)}"] = rows
    return tests
