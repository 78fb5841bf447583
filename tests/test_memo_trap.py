"""Tests of the synthetic memo-trap corpus (scalinglab.data.memo_trap)."""

import numpy as np
import pytest
import torch

from scalinglab.data.memo_trap import MemoTrapConfig, WordTokenizer, build_memo_trap

SMALL = MemoTrapConfig(n_words=40, quote_length=4, quotes_per_level=5, repetitions=(1, 3, 7),
                       n_instruction_lines=300, n_filler_lines=200, seed=3)


@pytest.fixture(scope="module")
def trap():
    return build_memo_trap(SMALL)


def lines_of(trap):
    return trap.stream.view(-1, trap.line_length)  # (n_lines, M)


def test_lines_are_aligned_and_counted(trap):
    lines = lines_of(trap)
    dot = trap.tokenizer.index["."]
    assert (lines[:, -1] == dot).all()
    assert (lines[:, :-1] != dot).all()  # "." only ends lines, so positions stay aligned
    n_quote_lines = SMALL.quotes_per_level * sum(SMALL.repetitions)
    assert trap.line_counts == {"instruction": 300, "filler": 200, "quote": n_quote_lines, "sentence": 0}
    assert len(lines) == 300 + 200 + n_quote_lines


def test_each_quote_appears_exactly_R_times_and_instructions_follow_the_rule(trap):
    lines = lines_of(trap).numpy()
    L = SMALL.quote_length
    body = lines[:, 4:4 + L]
    for level, R in zip(trap.quotes, SMALL.repetitions):
        for q in level:
            assert int((body == q).all(axis=1).sum()) == R
    end, with_ = trap.tokenizer.index["end"], trap.tokenizer.index["with"]
    instr = lines[(lines[:, 0] == end) & (lines[:, 1] == with_)]
    assert len(instr) == 300
    assert (instr[:, 2] == instr[:, 4 + L - 1]).all()  # the sentence ends with the named word
    # instruction sentences are never a memorised quote's prefix
    prefixes = {tuple(q[:-1]) for level in trap.quotes for q in level}
    assert not any(tuple(row[4:4 + L - 1]) in prefixes for row in instr)


def test_test_sets_have_the_prize_format_and_the_right_classes(trap):
    tok = trap.tokenizer
    L, M = SMALL.quote_length, trap.line_length
    for g, R in enumerate(SMALL.repetitions):
        conflict, control, one_shot, recall = (trap.tests[f"{k}_R{R}"]
                                               for k in ("conflict", "control", "oneshot", "recall"))
        assert [r["classes"] for r in trap.tests[f"novel_R{R}"]] == [r["classes"] for r in conflict]
        assert len(conflict) == len(control) == len(one_shot) == len(recall) == SMALL.quotes_per_level
        for i, (a, b, c, d) in enumerate(zip(conflict, control, one_shot, recall)):
            q = trap.quotes[g][i]
            assert a["classes"] == b["classes"] == c["classes"] and a["answer_index"] == 0
            rule, memorised = (tok.encode(s)[0] for s in a["classes"])
            assert memorised == q[-1] and rule != memorised
            assert all(s.startswith(" ") for s in a["classes"])
            ids = tok.encode(a["prompt"])
            # test line sits at the second line's position, as in training: M + 4 + (L-1) tokens
            assert len(ids) == M + 4 + L - 1 == len(tok.encode(b["prompt"])) == len(tok.encode(c["prompt"]))
            assert ids[-(L - 1):] == list(q[:-1]) and ids[M + 2] == rule
            assert tok.encode(b["prompt"])[-(L - 1):] != list(q[:-1])
            demo = tok.encode(c["prompt"])[:M]
            assert demo[2] == demo[4 + L - 1]  # the demo line follows the rule …
            assert any(list(demo[4:4 + L - 1]) == list(other[:-1]) for other in trap.quotes[g])  # … on a quote
            assert list(demo[4:4 + L - 1]) != list(q[:-1])  # a different one
            rec = tok.encode(d["prompt"])
            assert d["classes"] == a["classes"] and d["answer_index"] == 1  # recall: the memorised word is right
            assert len(rec) == len(ids) and rec[-(L - 1):] == list(q[:-1]) and tok.index["end"] not in rec


def test_batches_start_on_line_boundaries_and_shift_by_one(trap):
    g = torch.Generator().manual_seed(0)
    x, y = trap.batch(8, 2, g)
    M = trap.line_length
    assert x.shape == y.shape == (8, 2 * M)
    assert (x[:, 1:] == y[:, :-1]).all()
    dot = trap.tokenizer.index["."]
    assert (x[:, M - 1] == dot).all() and (y[:, 2 * M - 2] == dot).all()


def test_determinism_and_seed_dependence():
    a, b = build_memo_trap(SMALL), build_memo_trap(SMALL)
    assert a.sha256 == b.sha256 and torch.equal(a.stream, b.stream) and a.tests == b.tests
    c = build_memo_trap(MemoTrapConfig(**{**SMALL.to_dict(), "repetitions": (1, 3, 7), "seed": 4}))
    assert c.sha256 != a.sha256


def test_config_and_tokenizer_validation():
    with pytest.raises(ValueError):
        MemoTrapConfig(quotes_per_level=1)
    with pytest.raises(ValueError):
        MemoTrapConfig(repetitions=(0, 2))
    tok = WordTokenizer(["a", "b"])
    assert tok.decode(tok.encode(" a b a")) == "a b a"
    with pytest.raises(KeyError):
        tok.encode("c")
    with pytest.raises(ValueError):
        WordTokenizer(["a", "a"])


def test_rule_follow_probability_and_word_sets():
    cfg = MemoTrapConfig(n_words=40, quote_length=4, quotes_per_level=5, repetitions=(2,), n_ending_words=4,
                         n_sentence_words=10, rule_follow_prob=0.5, n_instruction_lines=4000,
                         n_filler_lines=10, seed=1)
    trap = build_memo_trap(cfg)
    lines = trap.stream.view(-1, trap.line_length).numpy()
    instr = lines[lines[:, 0] == trap.tokenizer.index["end"]]
    obeyed = float((instr[:, 2] == instr[:, 4 + cfg.quote_length - 1]).mean())
    assert obeyed == pytest.approx(0.5 + 0.5 / 4, abs=0.03)  # disobeyed lines end with a random ending word
    endings = set(trap.ending_ids.tolist())
    assert set(instr[:, 2].tolist()) <= endings and set(instr[:, -2].tolist()) <= endings
    assert len(set(instr[:, 4:4 + cfg.quote_length - 1].ravel().tolist())) <= 10
    assert all(int(q[-1]) in endings for level in trap.quotes for q in level)
    with pytest.raises(ValueError):
        MemoTrapConfig(rule_follow_prob=0.0)


def test_quoted_instructions_agree_with_the_quote():
    cfg = MemoTrapConfig(n_words=40, quote_length=4, quotes_per_level=5, repetitions=(4, 20), n_ending_words=4,
                         n_sentence_words=10, quoted_instruction_share=0.5, n_instruction_lines=100,
                         n_filler_lines=10, seed=2)
    trap = build_memo_trap(cfg)
    lines = trap.stream.view(-1, trap.line_length).numpy()
    L = cfg.quote_length
    prefixes = {tuple(q[:-1]): int(q[-1]) for level in trap.quotes for q in level}
    instr = lines[lines[:, 0] == trap.tokenizer.index["end"]]
    quoted = [row for row in instr if tuple(row[4:4 + L - 1]) in prefixes]
    n_quote_lines = 5 * (4 + 20)
    assert 0.35 * n_quote_lines < len(quoted) < 0.65 * n_quote_lines
    for row in quoted:  # the instruction names the quote's own ending, and the quote is intact
        assert row[2] == row[4 + L - 1] == prefixes[tuple(row[4:4 + L - 1])]
    assert len(instr) == 100 + len(quoted)


def test_disjoint_vocabularies_keep_quote_words_out_of_instruction_lines():
    cfg = MemoTrapConfig(n_words=60, quote_length=4, quotes_per_level=6, repetitions=(2, 5), n_ending_words=4,
                         n_sentence_words=12, instruction_vocabulary="disjoint", n_instruction_lines=500,
                         n_filler_lines=50, n_sentence_lines=80, seed=5)
    trap = build_memo_trap(cfg)
    L, tok = cfg.quote_length, trap.tokenizer
    lines = trap.stream.view(-1, trap.line_length).numpy()
    assert trap.line_counts["sentence"] == 80 and len(lines) == 500 + 50 + 6 * 7 + 80
    quote_words = {int(w) for level in trap.quotes for q in level for w in q[:-1]}
    instr = lines[lines[:, 0] == tok.index["end"]]
    assert len(instr) == 500  # no quote line ever carries an instruction
    instruction_words = set(instr[:, 4:4 + L - 1].ravel().tolist())
    endings = set(trap.ending_ids.tolist())
    assert not instruction_words & quote_words and not instruction_words & endings
    assert not quote_words & endings
    for R in cfg.repetitions:
        for row in trap.tests[f"control_R{R}"]:  # the control applies the rule to instruction-like text …
            assert set(tok.encode(row["prompt"])[-(L - 1):]) <= instruction_words
        for row in trap.tests[f"novel_R{R}"]:  # … the novel test to fresh quote-like text, never a quote
            words = tok.encode(row["prompt"])[-(L - 1):]
            assert not set(words) & instruction_words
            assert all(list(words) != list(q[:-1]) for level in trap.quotes for q in level)
    with pytest.raises(ValueError):
        MemoTrapConfig(n_words=20, n_sentence_words=10, n_ending_words=4, instruction_vocabulary="disjoint")
    with pytest.raises(ValueError):
        MemoTrapConfig(instruction_vocabulary="mixed")


def test_sentence_lines_look_like_quote_lines_but_are_fresh():
    cfg = MemoTrapConfig(n_words=60, quote_length=4, quotes_per_level=3, repetitions=(2,), n_ending_words=4,
                         n_sentence_words=12, instruction_vocabulary="disjoint", n_instruction_lines=10,
                         n_filler_lines=0, n_sentence_lines=200, seed=6)
    trap = build_memo_trap(cfg)
    L = cfg.quote_length
    lines = trap.stream.view(-1, trap.line_length).numpy()
    plain = lines[lines[:, 0] != trap.tokenizer.index["end"]]
    assert len(plain) == 3 * 2 + 200
    assert set(plain[:, 4 + L - 1].tolist()) <= set(trap.ending_ids.tolist())
    bodies = {tuple(row[4:4 + L - 1]) for row in plain}
    assert len(bodies) > 150  # fresh sentences, not repeats
