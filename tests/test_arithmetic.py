"""Tests of scalinglab.data.arithmetic (chapter 01)."""

import numpy as np
import pytest
import torch

from scalinglab.data.arithmetic import (EQUALS, IGNORE, PAD, ArithmeticTask, decode_answer, make_problems,
                                        problems_dataset, to_text, training_batch)


@pytest.mark.parametrize("task", [ArithmeticTask("add", (1, 3), True), ArithmeticTask("add", (2,), False),
                                  ArithmeticTask("mul", (1, 4), True, 1, 2), ArithmeticTask("mul", (2,), False)])
def test_answers_are_right(task):
    for d in task.digits:
        p = make_problems(task, 200, d, seed=5)
        assert p.answers.shape == (200, task.answer_length(d))
        assert p.prompts.shape == (200, task.prompt_length(d))
        truth = p.a + p.b if task.operation == "add" else p.a * p.b
        assert [decode_answer(row, task) for row in p.answers] == truth.tolist()
        assert (p.prompts[:, -1] == EQUALS).all()


def test_deterministic_and_seeded():
    task = ArithmeticTask("mul", (4,), True, 1, 2)
    a, b = make_problems(task, 50, 4, seed=1), make_problems(task, 50, 4, seed=1)
    c = make_problems(task, 50, 4, seed=2)
    assert torch.equal(a.prompts, b.prompts) and not torch.equal(a.prompts, c.prompts)
    assert (a.b >= 2).all() and (a.b <= 9).all()


def test_text_and_reversal():
    task = ArithmeticTask("mul", (2,), True, 1)
    p = make_problems(task, 1, 2, seed=0)
    text = to_text(p.sequences()[0])
    a, b = int(text[:2]), int(text[3])
    assert text[-3:][::-1] == f"{a * b:03d}"


def test_training_batch_masks_all_but_answers():
    task = ArithmeticTask("mul", (1, 2, 3, 4), True, 1, 2)
    x, y = training_batch(task, 64, torch.Generator().manual_seed(0))
    assert x.shape == y.shape == (64, task.max_length() - 1)
    for row_x, row_y in zip(x, y):
        eq = int((row_x == EQUALS).nonzero()[0])
        n_digits = eq - 2  # a has n digits, '*', one digit b
        L = task.answer_length(n_digits)
        mask = row_y != IGNORE
        assert mask.sum() == L and mask[eq: eq + L].all()
        # targets are the next input tokens on answer positions
        assert torch.equal(row_y[eq: eq + L - 1], row_x[eq + 1: eq + L])
        assert (row_x[eq + L + 1:] == PAD).all()  # the last answer token is an input too
    x2, _ = training_batch(task, 64, torch.Generator().manual_seed(0))
    assert torch.equal(x, x2)


def test_validation_and_dataset():
    with pytest.raises(ValueError):
        ArithmeticTask("div")
    with pytest.raises(ValueError):
        ArithmeticTask("add", (0,))
    ds = problems_dataset(ArithmeticTask("add", (3,)), 10, 3, seed=0)
    assert len(ds) == 10 and set(ds.column_names) == {"a", "b", "prompt", "answer", "text"}


def test_held_out_split_never_reaches_training():
    from scalinglab.data.arithmetic import held_out_mask, problem_hash

    task = ArithmeticTask("mul", (2, 3, 4), True, 1, 2, held_out_fraction=0.1)
    # the hash is a fixed function of the problem, roughly uniform on [0, 1)
    a, b = np.arange(10_000), np.arange(10_000) % 8 + 2
    h = problem_hash("mul", 4, a, b)
    assert np.array_equal(h, problem_hash("mul", 4, a, b)) and 0.45 < h.mean() < 0.55
    assert not np.array_equal(h, problem_hash("mul", 3, a, b))  # the operand length is part of the problem
    test_pairs = set()
    for d in task.digits:
        p = make_problems(task, 400, d, seed=11)
        assert held_out_mask(task, p.a, p.b, d).all()
        assert len(set(zip(p.a.tolist(), p.b.tolist()))) == len(p)  # without replacement
        test_pairs |= {(d, int(x), int(y)) for x, y in zip(p.a, p.b)}
    g = torch.Generator().manual_seed(3)
    for _ in range(30):
        x, _ = training_batch(task, 256, g)
        for row in x:
            eq = int((row == EQUALS).nonzero()[0])
            n = eq - 2
            a_val = int("".join(str(int(t)) for t in row[:n]))
            b_val = int(row[n + 1])
            assert (n, a_val, b_val) not in test_pairs
            assert not held_out_mask(task, np.array([a_val]), np.array([b_val]), n)[0]


def test_held_out_pool_is_the_limit_and_large_spaces_sample():
    task = ArithmeticTask("mul", (2,), True, 1, 2, held_out_fraction=0.1)
    p = make_problems(task, 10_000, 2, seed=0)
    assert 40 < len(p) < 130  # about 10 % of the 800 two-digit problems, each once
    big = ArithmeticTask("add", (6,), True, held_out_fraction=0.2)
    q = make_problems(big, 50, 6, seed=0)
    from scalinglab.data.arithmetic import held_out_mask
    assert len(q) == 50 and held_out_mask(big, q.a, q.b, 6).all()
    with pytest.raises(ValueError):
        ArithmeticTask("add", (2,), held_out_fraction=1.0)
