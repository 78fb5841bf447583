"""A seeded synthetic "memo trap": memorised quotes against an in-context instruction.

McKenzie et al. (2023, "Inverse Scaling: When Bigger Isn't Better", TMLR) name a *strong prior*
as the first cause of inverse scaling: a model that has memorised a sequence repeats it even when
the prompt asks for something else (their Memo Trap task: "Write a quote that ends in the word
'heavy': Absence makes the heart grow ..."). This module builds a tiny world in which that cause,
and nothing else, is present, so that the chapter can train a family of models on it.

The corpus is a stream of lines, every line exactly ``line_length = quote_length + 5`` word tokens
long, so that a line always starts at a multiple of ``line_length`` (positions are aligned and
even a one-layer model can find the instruction's word by position):

- **filler**: ``line_length - 1`` words drawn from a Zipf-like distribution over a vocabulary of
  pronounceable pseudo-words, then ``.``;
- **quote**: four filler words, then one of a fixed set of quotes (``quote_length`` words), then
  ``.``. The quotes are split into groups; the quotes of group g appear ``repetitions[g]`` times each,
  so the repetition count R varies *between quotes of the same corpus* (assigned at random) — the
  dose of memorisation is manipulated inside one training run;
- **instruction**: ``end with X : w1 … w_{L-1} X .`` — a fresh sentence (never a quote) whose last
  word is the word X named by the instruction. This teaches the rule. A share
  ``1 - rule_follow_prob`` of instruction lines is disobeyed (it ends with a random ending word).

- **sentence** (``n_sentence_lines``, default none): like a quote line, but with a fresh sentence of quote
  words seen once, ending with a random ending word.

Quotes and instruction sentences are written with ``n_sentence_words`` words drawn from the vocabulary and
end with one of ``n_ending_words`` "ending words", so both answers of a test item are plausible
endings. With ``instruction_vocabulary="shared"`` quotes and instruction sentences use the same words;
with ``"disjoint"`` they use two disjoint sets (and neither holds an ending word), so that memory is never
exercised inside an instruction's line. A share ``quoted_instruction_share`` of a quote's R appearances is
written inside an instruction that *agrees* with it (``end with q_L : q_1 … q_L .``): instruction and
memory then meet in training, though they never conflict (chapter 02 sets it to 0: they never meet).

Test sets, in the Inverse Scaling Prize's classification format (``prompt``, ``classes``,
``answer_index``; every class string starts with a space):

- **conflict**: the rule applied to a memorised quote's first L-1 words; classes are the rule's
  answer X (correct) and the quote's memorised last word;
- **control**: the same instruction and the same two class strings, on a fresh prefix of
  instruction-sentence words (the rule on the text it was taught on);
- **novel**: the same again, on a fresh prefix of quote words that is no quote (the instruction's pull on
  quote-like text, without memory);
- **one-shot conflict**: the conflict prompt preceded by one demonstration line in which the rule
  overrides a *different* memorised quote of the same group (Wei et al. 2022's 1-shot mitigation);
- **recall**: a quote line as in training (four filler words, the quote's first L-1 words), with the
  same two classes; the memorised word is correct. It measures memorisation itself.

Zero-shot prompts start with a fresh filler line so that the test line sits where it sits in
training (the second line of a two-line window).

Used by: chapter 02 (inverse scaling).
"""

from __future__ import annotations

import hashlib
import itertools
from dataclasses import asdict, dataclass, field

import numpy as np
import torch

SPECIAL_TOKENS = (".", "end", "with", ":")
INSTRUCTION_VOCABULARIES = ("shared", "disjoint")
HEADER_LENGTH = 4  # "end with X :" and the four filler words before a quote
CONSONANTS = "bdfgklmnprstvz"
VOWELS = "aeiou"


@dataclass(frozen=True)
class MemoTrapConfig:
    """What the memo-trap corpus contains. Lines are ``quote_length + 5`` tokens long."""

    n_words: int = 256  # filler vocabulary (pseudo-words)
    quote_length: int = 6  # words per quote (and per instruction sentence)
    quotes_per_level: int = 48
    repetitions: tuple[int, ...] = (4, 16, 64)  # R for each group of quotes
    n_instruction_lines: int = 30_000
    n_filler_lines: int = 30_000
    n_sentence_lines: int = 0  # lines like a quote line but with a fresh sentence (seen once, never memorised)
    n_ending_words: int = 16  # quotes and instruction sentences end with one of these words
    n_sentence_words: int = 24  # quotes and instruction sentences are written with these words
    rule_follow_prob: float = 1.0  # share of instruction lines that obey their instruction
    quoted_instruction_share: float = 0.0  # share of a quote's R appearances inside an instruction that agrees with it
    zipf_exponent: float = 1.0  # filler word frequency ∝ rank^(-exponent)
    # "shared": quotes and instruction sentences are written with the same words; "disjoint": with two
    # disjoint sets of n_sentence_words words each (and neither holds an ending word), so that no
    # instruction line in training ever contains a quote's words
    instruction_vocabulary: str = "shared"
    seed: int = 0

    def __post_init__(self):
        if self.quote_length < 2:
            raise ValueError(f"MemoTrapConfig.quote_length must be >= 2, got {self.quote_length}")
        if self.n_words < 8:
            raise ValueError(f"MemoTrapConfig.n_words must be >= 8, got {self.n_words}")
        if not 2 <= self.n_sentence_words <= self.n_words:
            raise ValueError(f"MemoTrapConfig.n_sentence_words must be in [2, n_words], got {self.n_sentence_words}")
        if not 0.0 <= self.quoted_instruction_share <= 1.0:
            raise ValueError(f"MemoTrapConfig.quoted_instruction_share must be in [0, 1], got {self.quoted_instruction_share}")
        if not 0.0 < self.rule_follow_prob <= 1.0:
            raise ValueError(f"MemoTrapConfig.rule_follow_prob must be in (0, 1], got {self.rule_follow_prob}")
        if not 2 <= self.n_ending_words <= self.n_words:
            raise ValueError(f"MemoTrapConfig.n_ending_words must be in [2, n_words], got {self.n_ending_words}")
        if self.quotes_per_level < 2:
            raise ValueError("MemoTrapConfig.quotes_per_level must be >= 2 (the one-shot demo uses another quote)")
        if self.instruction_vocabulary not in INSTRUCTION_VOCABULARIES:
            raise ValueError(f"MemoTrapConfig.instruction_vocabulary must be one of {INSTRUCTION_VOCABULARIES}, "
                             f"got {self.instruction_vocabulary!r}")
        if self.instruction_vocabulary == "disjoint" and 2 * self.n_sentence_words + self.n_ending_words > self.n_words:
            raise ValueError("MemoTrapConfig: 'disjoint' needs 2·n_sentence_words + n_ending_words <= n_words")
        if not self.repetitions or any(int(r) < 1 for r in self.repetitions):
            raise ValueError(f"MemoTrapConfig.repetitions must be positive integers, got {self.repetitions}")

    @property
    def line_length(self) -> int:
        return self.quote_length + 1 + HEADER_LENGTH

    def to_dict(self) -> dict:
        d = asdict(self)
        d["repetitions"] = list(self.repetitions)
        return d


class WordTokenizer:
    """Whitespace word-level tokenizer over a fixed vocabulary (one word = one token).

    ``encode(" end with")`` gives two ids; class strings such as ``" bako"`` therefore never merge
    with the prompt's end, unlike sub-word tokenizers (see :mod:`scalinglab.prize`).
    """

    def __init__(self, vocabulary: list[str]):
        if len(set(vocabulary)) != len(vocabulary):
            raise ValueError("vocabulary entries must be unique")
        self.vocabulary = list(vocabulary)
        self.index = {w: i for i, w in enumerate(self.vocabulary)}

    def __len__(self) -> int:
        return len(self.vocabulary)

    def encode(self, text: str) -> list[int]:
        try:
            return [self.index[w] for w in text.split()]
        except KeyError as exc:
            raise KeyError(f"word {exc.args[0]!r} is not in the vocabulary") from None

    def decode(self, ids) -> str:
        return " ".join(self.vocabulary[int(i)] for i in ids)


def pseudo_words(n: int, rng: np.random.Generator) -> list[str]:
    """``n`` distinct pronounceable two- or three-syllable words (consonant-vowel syllables)."""
    syllables = [c + v for c, v in itertools.product(CONSONANTS, VOWELS)]
    pool = ["".join(p) for p in itertools.product(syllables, repeat=2)]
    if n > len(pool):
        pool += ["".join(p) for p in itertools.product(syllables, repeat=3)]
    pool = [w for w in pool if w not in SPECIAL_TOKENS]
    picked = rng.choice(len(pool), size=n, replace=False)
    return sorted(pool[i] for i in picked)


class LineCorpus:
    """What a corpus of fixed-length lines in one token stream shares (used by chapter 02's two corpora,
    :class:`MemoTrap` and :class:`~scalinglab.data.imitation.Imitation`): a subclass holds ``tokenizer``,
    ``stream`` and a ``config`` with ``line_length``."""

    @property
    def vocab_size(self) -> int:
        return len(self.tokenizer)

    @property
    def line_length(self) -> int:
        return self.config.line_length

    @property
    def n_lines(self) -> int:
        return len(self.stream) // self.line_length

    def batch(self, batch_size: int, n_lines: int, generator: torch.Generator):
        """Random windows of ``n_lines`` consecutive lines starting at a line boundary.

        Returns (inputs, targets), each (batch_size, n_lines * line_length): the targets are the
        inputs shifted by one token (the window reads one token past its last line).
        """
        M = self.line_length
        first = torch.randint(0, self.n_lines - n_lines, (batch_size,), generator=generator)
        offsets = torch.arange(n_lines * M + 1)
        windows = self.stream[first[:, None] * M + offsets]  # (B, n_lines*M + 1)
        return windows[:, :-1], windows[:, 1:]


@dataclass
class MemoTrap(LineCorpus):
    """The corpus (as a token stream of aligned lines) and its test sets."""

    config: MemoTrapConfig
    tokenizer: WordTokenizer
    stream: torch.Tensor  # (n_lines * line_length,) int64
    quotes: list[list[np.ndarray]]  # per level: (quotes_per_level, quote_length) word ids
    line_counts: dict
    sha256: str
    tests: dict = field(default_factory=dict)  # name -> list of prize-format rows
    ending_ids: np.ndarray | None = None  # the words sentences may end with

    def spec(self) -> dict:
        """What identifies this corpus in the run store."""
        return {"name": "memo-trap", "config": self.config.to_dict(), "sha256": self.sha256}


def _zipf_probs(n: int, exponent: float) -> np.ndarray:
    p = 1.0 / np.arange(1, n + 1) ** exponent
    return p / p.sum()


def build_memo_trap(config: MemoTrapConfig) -> MemoTrap:
    """Generate the corpus and test sets of ``config`` (deterministic in ``config.seed``)."""
    rng = np.random.default_rng(config.seed)
    words = pseudo_words(config.n_words, rng)
    tokenizer = WordTokenizer(list(SPECIAL_TOKENS) + words)
    word_ids = np.arange(len(SPECIAL_TOKENS), len(tokenizer))  # ids of the pseudo-words
    DOT, END, WITH, COLON = (tokenizer.index[t] for t in SPECIAL_TOKENS)
    L, M = config.quote_length, config.line_length
    # Filler frequencies: a random rank order, so frequent words are not alphabetical.
    filler_p = np.zeros(len(tokenizer))
    filler_p[rng.permutation(word_ids)] = _zipf_probs(config.n_words, config.zipf_exponent)

    def filler(shape) -> np.ndarray:
        return rng.choice(len(tokenizer), size=shape, p=filler_p)

    ending_ids = np.sort(rng.choice(word_ids, size=config.n_ending_words, replace=False))
    if config.instruction_vocabulary == "shared":
        sentence_ids = np.sort(rng.choice(word_ids, size=config.n_sentence_words, replace=False))
        instruction_ids = sentence_ids
    else:
        others = rng.permutation(np.setdiff1d(word_ids, ending_ids))
        sentence_ids = np.sort(others[:config.n_sentence_words])
        instruction_ids = np.sort(others[config.n_sentence_words:2 * config.n_sentence_words])

    def sentence(shape) -> np.ndarray:
        return rng.choice(sentence_ids, size=shape)

    # Quotes: uniform words, distinct (L-1)-word prefixes across all levels.
    n_levels = len(config.repetitions)
    n_quotes = n_levels * config.quotes_per_level
    seen, quotes_flat = set(), []
    while len(quotes_flat) < n_quotes:
        q = np.append(sentence(L - 1), rng.choice(ending_ids))
        if tuple(q[:-1]) not in seen:
            seen.add(tuple(q[:-1]))
            quotes_flat.append(q)
    quotes = [np.stack(quotes_flat[g * config.quotes_per_level:(g + 1) * config.quotes_per_level])
              for g in range(n_levels)]  # each (quotes_per_level, L)

    # Lines, each M tokens.
    n_i, n_f = config.n_instruction_lines, config.n_filler_lines
    instr = np.empty((n_i, M), dtype=np.int64)
    rule_words = rng.choice(ending_ids, size=n_i)
    instr[:, 0], instr[:, 1], instr[:, 2], instr[:, 3] = END, WITH, rule_words, COLON
    fresh = rng.choice(instruction_ids, size=(n_i, L - 1))
    memorised_prefix = np.zeros(n_i, dtype=bool)  # a fresh sentence must not be a quote's prefix
    for q in quotes_flat:
        memorised_prefix |= (fresh == q[:-1]).all(axis=1)
    fresh[memorised_prefix] = np.roll(fresh[memorised_prefix], 1, axis=1)
    instr[:, 4:4 + L - 1] = fresh
    obeyed = rng.random(n_i) < config.rule_follow_prob
    instr[:, 4 + L - 1] = np.where(obeyed, rule_words, rng.choice(ending_ids, size=n_i))
    instr[:, -1] = DOT
    fill = np.empty((n_f, M), dtype=np.int64)
    fill[:, :-1] = filler((n_f, M - 1))
    fill[:, -1] = DOT
    quote_rows = np.concatenate([np.repeat(quotes[g], r, axis=0) for g, r in enumerate(config.repetitions)])
    quote_lines = np.empty((len(quote_rows), M), dtype=np.int64)
    quote_lines[:, :HEADER_LENGTH] = filler((len(quote_rows), HEADER_LENGTH))
    # Some appearances of a quote sit inside an instruction that agrees with it ("end with fonder : absence
    # makes the heart grow fonder"): instruction and memory never conflict in training.
    quoted = rng.random(len(quote_rows)) < config.quoted_instruction_share
    quote_lines[quoted, 0], quote_lines[quoted, 1], quote_lines[quoted, 3] = END, WITH, COLON
    quote_lines[quoted, 2] = quote_rows[quoted, -1]
    quote_lines[:, HEADER_LENGTH:HEADER_LENGTH + L] = quote_rows
    quote_lines[:, -1] = DOT
    n_s = config.n_sentence_lines
    plain = np.empty((n_s, M), dtype=np.int64)
    plain[:, :HEADER_LENGTH] = filler((n_s, HEADER_LENGTH))
    plain[:, HEADER_LENGTH:HEADER_LENGTH + L - 1] = sentence((n_s, L - 1))
    plain[:, HEADER_LENGTH + L - 1] = rng.choice(ending_ids, size=n_s)
    plain[:, -1] = DOT
    lines = np.concatenate([instr, fill, quote_lines, plain])
    lines = lines[rng.permutation(len(lines))]  # (n_lines, M)
    stream = torch.from_numpy(lines.reshape(-1).copy())
    digest = hashlib.sha256(lines.tobytes()).hexdigest()

    trap = MemoTrap(config=config, tokenizer=tokenizer, stream=stream, quotes=quotes,
                    line_counts={"instruction": n_i, "filler": n_f, "quote": len(quote_lines), "sentence": n_s},
                    sha256=digest)
    trap.ending_ids = ending_ids
    trap.tests = _test_sets(trap, rng, filler, sentence, lambda n: rng.choice(instruction_ids, size=n), ending_ids)
    return trap


def _test_sets(trap: MemoTrap, rng: np.random.Generator, filler, sentence, instruction_sentence,
               ending_ids) -> dict:
    """Prize-format rows for every level: conflict, control, novel, recall, one-shot conflict."""
    tok, L, M = trap.tokenizer, trap.config.quote_length, trap.line_length
    dec = tok.decode
    tests = {}
    prefixes = {tuple(x[:-1]) for level in trap.quotes for x in level}
    for g, (level_quotes, R) in enumerate(zip(trap.quotes, trap.config.repetitions)):
        n = len(level_quotes)
        conflict, control, novel, one_shot, recall = [], [], [], [], []
        demo_of = (np.arange(n) + 1 + rng.integers(0, n - 1, size=n)) % n  # another quote of the level
        for i, q in enumerate(level_quotes):
            memorised = int(q[-1])
            rule = int(rng.choice(ending_ids[ending_ids != memorised]))
            context_line = dec(filler(M - 1)) + " ."
            classes = [" " + tok.vocabulary[rule], " " + tok.vocabulary[memorised]]
            head = f"end with {tok.vocabulary[rule]} :"
            conflict.append({"prompt": f"{context_line} {head} {dec(q[:-1])}", "classes": classes,
                             "answer_index": 0, "level": g, "repetitions": R})
            fresh = instruction_sentence(L - 1)
            while tuple(fresh) in prefixes:
                fresh = instruction_sentence(L - 1)
            control.append({"prompt": f"{context_line} {head} {dec(fresh)}", "classes": classes,
                            "answer_index": 0, "level": g, "repetitions": R})
            fresh = sentence(L - 1)
            while tuple(fresh) in prefixes:
                fresh = sentence(L - 1)
            novel.append({"prompt": f"{context_line} {head} {dec(fresh)}", "classes": classes,
                          "answer_index": 0, "level": g, "repetitions": R})
            quote_line = f"{dec(filler(HEADER_LENGTH))} {dec(q[:-1])}"
            recall.append({"prompt": f"{context_line} {quote_line}", "classes": classes,
                           "answer_index": 1, "level": g, "repetitions": R})
            d = level_quotes[demo_of[i]]
            demo_rule = int(rng.choice(ending_ids[ending_ids != int(d[-1])]))
            w = tok.vocabulary[demo_rule]
            demo_line = f"end with {w} : {dec(d[:-1])} {w} ."
            one_shot.append({"prompt": f"{demo_line} {head} {dec(q[:-1])}", "classes": classes,
                             "answer_index": 0, "level": g, "repetitions": R})
        tests[f"conflict_R{R}"] = conflict
        tests[f"control_R{R}"] = control
        tests[f"novel_R{R}"] = novel
        tests[f"oneshot_R{R}"] = one_shot
        tests[f"recall_R{R}"] = recall
    return tests
