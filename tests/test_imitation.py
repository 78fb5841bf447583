"""Tests of scalinglab.data.imitation: the corpus of chapter 02's second cause (imitation of undesirable
patterns) — aligned lines, the rule, exact misconception shares, disjoint word sets, and the test sets."""

import numpy as np
import pytest
import torch

from scalinglab.data.imitation import ImitationConfig, build_imitation, share_label

SMALL = dict(n_words=48, n_key_words=4, n_question_words=16, n_topic_words=8, question_length=4,
             questions_per_group=6, repetitions=10, misconception_shares=(0.0, 0.5, 0.9), n_regular_lines=300)


@pytest.fixture(scope="module")
def corpus():
    return build_imitation(ImitationConfig(**SMALL, seed=3))


def lines_of(corpus):
    return corpus.stream.view(-1, corpus.line_length).numpy()


def test_lines_are_aligned_questions_and_counted(corpus):
    lines = lines_of(corpus)
    tok = corpus.tokenizer
    assert corpus.line_length == SMALL["question_length"] + 3
    assert (lines[:, 0] == tok.index["q"]).all() and (lines[:, -1] == tok.index["."]).all()
    assert len(lines) == SMALL["n_regular_lines"] + 3 * SMALL["questions_per_group"] * SMALL["repetitions"]
    assert sum(corpus.line_counts.values()) == len(lines)
    assert np.isin(lines[:, -3], corpus.key_ids).all() and np.isin(lines[:, -2], corpus.key_ids).all()


def test_each_popular_question_has_its_exact_misconception_share(corpus):
    lines = lines_of(corpus)
    L = SMALL["question_length"]
    for share, qs, wrong in zip(corpus.config.misconception_shares, corpus.questions, corpus.misconceptions):
        assert (wrong != qs[:, -1]).all()  # a misconception is never the truth
        for q, m in zip(qs, wrong):
            rows = lines[(lines[:, 1:1 + L] == q).all(axis=1)]
            assert len(rows) == SMALL["repetitions"]
            answers = rows[:, 1 + L]
            assert (answers == m).sum() == round(share * SMALL["repetitions"])
            assert (answers == q[-1]).sum() == SMALL["repetitions"] - round(share * SMALL["repetitions"])


def test_regular_questions_follow_the_rule_and_use_their_own_words(corpus):
    lines = lines_of(corpus)
    L = SMALL["question_length"]
    popular = {tuple(q) for group in corpus.questions for q in group}
    regular = np.array([tuple(r[1:1 + L]) not in popular for r in lines])
    assert regular.sum() == SMALL["n_regular_lines"]
    assert (lines[regular, 1 + L] == lines[regular, L]).all()  # the answer repeats the key
    assert np.isin(lines[regular, 1:L], corpus.question_ids).all()
    assert np.isin(lines[~regular, 1:L], corpus.topic_ids).all()
    assert not set(corpus.question_ids) & set(corpus.topic_ids) and not set(corpus.key_ids) & set(corpus.topic_ids)


def test_test_sets_have_the_prize_format_and_share_their_classes(corpus):
    tok = corpus.tokenizer
    popular = {tuple(q) for group in corpus.questions for q in group}
    for share, qs, wrong in zip(corpus.config.misconception_shares, corpus.questions, corpus.misconceptions):
        label = share_label(share)
        task, control, novel = (corpus.tests[f"{k}_S{label}"] for k in ("task", "control", "novel"))
        assert len(task) == len(control) == len(novel) == SMALL["questions_per_group"]
        for i, (q, m) in enumerate(zip(qs, wrong)):
            classes = [" " + tok.vocabulary[int(q[-1])], " " + tok.vocabulary[int(m)]]
            for rows in (task, control, novel):
                assert rows[i]["classes"] == classes and rows[i]["answer_index"] == 0
                ids = tok.encode(rows[i]["prompt"])
                assert len(ids) == 2 * corpus.line_length - 2  # one full line, then the question without answer
                assert ids[corpus.line_length] == tok.index["q"] and ids[-1] == int(q[-1])
            assert tuple(tok.encode(task[i]["prompt"])[-SMALL["question_length"]:]) == tuple(q)
            for rows, vocabulary in ((control, corpus.question_ids), (novel, corpus.topic_ids)):
                question = tok.encode(rows[i]["prompt"])[-SMALL["question_length"]:]
                assert tuple(question) not in popular and np.isin(question[:-1], vocabulary).all()


def test_batches_start_on_line_boundaries_and_shift_by_one(corpus):
    g = torch.Generator().manual_seed(0)
    x, y = corpus.batch(5, 2, g)
    assert x.shape == y.shape == (5, 2 * corpus.line_length)
    assert (x[:, 0] == corpus.tokenizer.index["q"]).all()
    assert (x[:, 1:] == y[:, :-1]).all()


def test_determinism_and_seed_dependence():
    a, b = build_imitation(ImitationConfig(**SMALL, seed=1)), build_imitation(ImitationConfig(**SMALL, seed=1))
    assert a.sha256 == b.sha256 and a.tests == b.tests
    assert build_imitation(ImitationConfig(**SMALL, seed=2)).sha256 != a.sha256
    assert a.spec()["config"]["misconception_shares"] == [0.0, 0.5, 0.9]


def test_config_validation():
    for bad in (dict(misconception_shares=(0.0, 1.0)), dict(misconception_shares=()), dict(n_key_words=1),
                dict(misconception_shares=(0.5, 0.5)), dict(n_words=20), dict(question_length=1),
                dict(repetitions=0), dict(n_regular_lines=0), dict(n_topic_words=1)):
        with pytest.raises(ValueError):
            ImitationConfig(**{**SMALL, **bad})
    assert share_label(0.9) == 90 and share_label(0.0) == 0
