"""Tests of scalinglab.prize, all offline: the Inverse Scaling Prize's classification metric and evaluators
(McKenzie et al. 2023), against hand computation, analytic cases and the book's own transformer.

The Hugging Face path is checked on a tiny randomly initialised GPT-2 built from a config and a
byte-level BPE tokenizer trained here with the `tokenizers` library: nothing is downloaded.
"""

import json
import math

import numpy as np
import pytest
import torch

from scalinglab import prize
from scalinglab.prize import PrizeExample, class_token_span, classification_metric

# --------------------------------------------------------------------------- the metric itself


def test_metric_matches_hand_computation_two_classes():
    s = np.array([[-1.0, -2.0], [-3.0, -0.5]])
    out = classification_metric(s, [0, 0])
    # loss_0 = -(−1 − log(e^−1 + e^−2)) = log(1 + e^−1); loss_1 = log(1 + e^2.5)
    assert out["loss"][0] == pytest.approx(math.log(1 + math.exp(-1)))
    assert out["loss"][1] == pytest.approx(math.log(1 + math.exp(2.5)))
    assert out["correct"].tolist() == [True, False]
    assert out["accuracy"] == 0.5
    assert out["mean_loss"] == pytest.approx(np.mean(out["loss"]))
    np.testing.assert_allclose(np.exp(out["normalised"]).sum(axis=1), 1.0)


def test_metric_ignores_a_common_shift_and_handles_padding():
    s = np.array([[-10.0, -11.0, -np.inf]])
    shifted = classification_metric(s + 7.0, [1])
    base = classification_metric(s, [1])
    assert shifted["loss"][0] == pytest.approx(base["loss"][0])
    assert base["loss"][0] == pytest.approx(math.log(1 + math.e))  # the -inf class gets no mass
    uniform = classification_metric(np.zeros((3, 4)), [0, 1, 2])
    np.testing.assert_allclose(uniform["loss"], math.log(4))


def test_metric_rejects_mismatched_shapes():
    with pytest.raises(ValueError):
        classification_metric(np.zeros((2, 2)), [0, 1, 0])


def test_example_validation_and_row_parsing():
    ex = PrizeExample.from_row({"prompt": "Q:", "classes": "[' yes', ' no']", "answer_index": 1})
    assert ex.classes == (" yes", " no") and ex.answer_index == 1
    with pytest.raises(ValueError):
        PrizeExample("Q:", (" yes",), 0)
    with pytest.raises(ValueError):
        PrizeExample("Q:", (" yes", " no"), 2)


# --------------------------------------------------------------------------- a tiny offline HF model


@pytest.fixture(scope="module")
def tiny_hf():
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

    raw = Tokenizer(models.BPE())
    raw.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    raw.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=300, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  special_tokens=["<|endoftext|>"], show_progress=False)
    raw.train_from_iterator(["the cat sat on the mat", "a matter of taste", "the mat is flat"] * 20, trainer)
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=raw, eos_token="<|endoftext|>")

    def build(n_embd: int, seed: int = 0):
        torch.manual_seed(seed)
        config = GPT2Config(vocab_size=len(tokenizer), n_positions=32, n_embd=n_embd, n_layer=2, n_head=2)
        return GPT2LMHeadModel(config).eval()

    return tokenizer, build


def _hand_logprob(model, ids, start):
    """Σ_{t ≥ start} log p(ids[t] | ids[:t]) one position at a time, straight from the logits."""
    total = 0.0
    with torch.no_grad():
        for t in range(start, len(ids)):
            logits = model(input_ids=torch.tensor([ids[:t]])).logits[0, -1].double()
            total += float(logits[ids[t]] - torch.logsumexp(logits, dim=0))
    return total


def test_merged_class_token_is_scored_as_part_of_the_class(tiny_hf):
    tokenizer, build = tiny_hf
    encode = prize.hf_encode(tokenizer)
    prompt, merging, plain = "the cat sat on the ma", "t", " a"
    prompt_ids = encode(prompt)
    joint = encode(prompt + merging)
    # The premise of the test: "…the ma" + "t" re-tokenises the prompt's end ("Ġmat" swallows "Ġ m a").
    assert joint[:len(prompt_ids)] != prompt_ids
    ids, start = class_token_span(encode, prompt, merging, "joint")
    assert ids == joint
    assert ids[:start] == prompt_ids[:start] and start < len(prompt_ids)
    ids_sep, start_sep = class_token_span(encode, prompt, merging, "separate")
    assert ids_sep == prompt_ids + encode(merging) and start_sep == len(prompt_ids)

    model = build(32)
    example = PrizeExample(prompt, (merging, plain), 0)
    for boundary in ("joint", "separate"):
        expected = []
        for c in example.classes:
            if boundary == "joint":
                full = encode(prompt + c)
                k = 0
                while k < min(len(full), len(prompt_ids)) and full[k] == prompt_ids[k]:
                    k += 1
            else:
                full, k = prompt_ids + encode(c), len(prompt_ids)
            expected.append(_hand_logprob(model, full, k))
        result = prize.evaluate_causal_lm(model, tokenizer, [example], boundary=boundary)
        np.testing.assert_allclose(result["class_logprobs"][0], expected, atol=1e-4)
        hand_loss = -(expected[0] - np.logaddexp(expected[0], expected[1]))
        assert result["mean_loss"] == pytest.approx(hand_loss, abs=1e-4)
    # the two conventions really differ on the merged class
    joint_s = prize.evaluate_causal_lm(model, tokenizer, [example], "joint")["class_logprobs"][0, 0]
    sep_s = prize.evaluate_causal_lm(model, tokenizer, [example], "separate")["class_logprobs"][0, 0]
    assert abs(joint_s - sep_s) > 1e-3


def test_batched_scores_equal_one_by_one_with_padding(tiny_hf):
    tokenizer, build = tiny_hf
    model = build(24, seed=1)
    encode = prize.hf_encode(tokenizer)
    rows = [{"prompt": "the cat", "classes": [" sat", " is flat", " mat"], "answer_index": 0},
            {"prompt": "a matter of", "classes": [" taste", " the mat"], "answer_index": 1},
            {"prompt": "the mat is", "classes": [" flat", " a"], "answer_index": 0}]
    batched = prize.evaluate_causal_lm(model, tokenizer, rows, batch_size=16)
    for i, row in enumerate(rows):
        prompt_ids = encode(row["prompt"])
        for c, cls in enumerate(row["classes"]):
            full = encode(row["prompt"] + cls)
            assert full[:len(prompt_ids)] == prompt_ids  # no merge in these rows
            assert batched["class_logprobs"][i, c] == pytest.approx(_hand_logprob(model, full, len(prompt_ids)), abs=1e-4)
    assert batched["class_logprobs"][1, 2] == -np.inf  # row 1 has two classes only
    one_by_one = prize.evaluate_causal_lm(model, tokenizer, rows, batch_size=1)
    np.testing.assert_allclose(batched["class_logprobs"], one_by_one["class_logprobs"], atol=1e-4)


def test_family_evaluation_with_an_offline_loader(tiny_hf, tmp_path):
    tokenizer, build = tiny_hf
    rows = [{"prompt": "the cat sat on the", "classes": [" mat", " taste"], "answer_index": 0},
            {"prompt": "a matter of", "classes": [" taste", " mat"], "answer_index": 0}]
    path = prize.write_prize_jsonl(rows, tmp_path / "task.jsonl")
    examples = prize.load_prize_task(str(path))
    assert [ex.prompt for ex in examples] == [r["prompt"] for r in rows]
    widths = {"tiny-a": 16, "tiny-b": 32}
    table = prize.evaluate_hf_family(list(widths), examples, load=lambda n: (build(widths[n]), tokenizer))
    assert table["model"].tolist() == ["tiny-a", "tiny-b"]
    assert table["params"].iloc[0] < table["params"].iloc[1]
    direct = prize.evaluate_causal_lm(build(32), tokenizer, examples)
    assert table["loss"].iloc[1] == pytest.approx(direct["mean_loss"], abs=1e-6)
    assert ((table["accuracy"] >= 0) & (table["accuracy"] <= 1)).all()


def test_load_prize_task_reads_classes_written_as_strings(tmp_path):
    path = tmp_path / "t.jsonl"
    path.write_text(json.dumps({"prompt": "p", "classes": "[' a', ' b']", "answer_index": 1}) + "\n\n")
    (ex,) = prize.load_prize_task(str(path))
    assert ex.classes == (" a", " b") and ex.answer_index == 1


def test_span_errors():
    encode = lambda s: [ord(ch) for ch in s]  # noqa: E731 - a character-level toy tokenizer
    with pytest.raises(ValueError):
        class_token_span(encode, "", "x")  # nothing to condition on
    with pytest.raises(ValueError):
        class_token_span(encode, "ab", "", "joint")  # the class adds no token
    with pytest.raises(ValueError):
        class_token_span(encode, "ab", "c", "both")


# --------------------------------------------------------------------------- the book's own models


def test_scalinglab_transformer_with_word_tokenizer_matches_hand_computation():
    from scalinglab.data.memo_trap import WordTokenizer
    from scalinglab.models import Transformer, TransformerConfig

    tok = WordTokenizer([".", "end", "with", ":", "ba", "ko", "ti", "ne"])
    torch.manual_seed(0)
    model = Transformer(TransformerConfig(vocab_size=len(tok), context_length=16, n_layer=1, n_head=2, d_model=16)).eval()
    rows = [{"prompt": "end with ba : ko ti", "classes": [" ba", " ne"], "answer_index": 0},
            {"prompt": "ne ne . end with ti :", "classes": [" ko ba", " ti"], "answer_index": 1}]
    result = prize.evaluate_classification(model, tok.encode, rows)
    for i, row in enumerate(rows):
        prompt_ids = tok.encode(row["prompt"])
        hand = []
        for cls in row["classes"]:
            ids = prompt_ids + tok.encode(cls)
            with torch.no_grad():
                logp = torch.log_softmax(model(torch.tensor([ids]))[0].double(), dim=-1)
            hand.append(sum(float(logp[t - 1, ids[t]]) for t in range(len(prompt_ids), len(ids))))
        np.testing.assert_allclose(result["class_logprobs"][i], hand, atol=1e-5)
        norm = np.array(hand) - np.logaddexp(*hand)
        assert result["loss"][i] == pytest.approx(-norm[row["answer_index"]], abs=1e-5)


# --------------------------------------------------------------------------- analytic cases


def _bigram_logits_fn(table: torch.Tensor):
    """A causal "model" whose next-token logits at position t are ``table[ids[t]]`` (a bigram model)."""
    return lambda ids: table[ids]


def _bigram_hand(table: torch.Tensor, ids, start) -> float:
    logp = torch.log_softmax(table.double(), dim=-1)
    return sum(float(logp[ids[t - 1], ids[t]]) for t in range(start, len(ids)))


def test_sequence_sums_match_a_bigram_model_in_input_order_for_any_batching_and_padding():
    torch.manual_seed(0)
    table = torch.randn(6, 6)
    # lengths deliberately out of order, so that the length-sorted batches must be put back in place
    sequences = [([1, 2, 3, 4, 5], 2), ([3, 1], 1), ([5, 4, 3, 2], 1), ([0, 5, 5], 2), ([2, 2, 2, 2, 2, 2], 3)]
    hand = [_bigram_hand(table, ids, start) for ids, start in sequences]
    for batch_size in (1, 2, 64):
        for pad_id in (0, 5):
            out = prize.sequence_logprob_sums(_bigram_logits_fn(table), sequences, batch_size=batch_size,
                                              pad_id=pad_id)
            np.testing.assert_allclose(out, hand, atol=1e-5)


def test_uniform_logits_give_minus_length_times_log_vocabulary():
    V = 7
    uniform = lambda ids: torch.zeros(*ids.shape, V)  # noqa: E731
    sequences = [([1, 2, 3, 4], 1), ([1, 2], 1), ([6, 5, 4, 3, 2], 4)]
    out = prize.sequence_logprob_sums(uniform, sequences)
    np.testing.assert_allclose(out, [-3 * math.log(V), -math.log(V), -math.log(V)], rtol=1e-6)


def test_a_context_free_model_gives_the_hand_worked_prize_loss():
    # p(next token) = (0.1, 0.2, 0.3, 0.4) whatever came before; the letters a-d are tokens 0-3.
    q = torch.tensor([0.1, 0.2, 0.3, 0.4])
    logits_fn = lambda ids: torch.log(q).expand(*ids.shape, 4)  # noqa: E731
    encode = lambda text: ["abcd".index(ch) for ch in text]  # noqa: E731
    rows = [{"prompt": "a", "classes": ["b", "cd"], "answer_index": 0},  # s = (log .2, log .12)
            {"prompt": "d", "classes": ["b", "cd"], "answer_index": 1}]
    out = prize.evaluate_classification(logits_fn, encode, rows)
    np.testing.assert_allclose(out["class_logprobs"], np.log([[0.2, 0.12], [0.2, 0.12]]), rtol=1e-6)
    # loss = −log(p_answer / (0.2 + 0.12)): log 1.6 for the first row, log(8/3) for the second
    np.testing.assert_allclose(out["loss"], [math.log(1.6), math.log(8 / 3)], rtol=1e-6)
    assert out["correct"].tolist() == [True, False] and out["accuracy"] == 0.5
    assert out["mean_loss"] == pytest.approx((math.log(1.6) + math.log(8 / 3)) / 2, rel=1e-6)


def test_two_class_test_sets_scored_by_hand_with_a_context_free_model():
    # p(next token) = (0.1, 0.2, 0.3, 0.4) whatever came before; the letters a-d are tokens 0-3. The margin is
    # the normalised log-probability of the right class minus the other's: log(p_right / p_other).
    q = torch.tensor([0.1, 0.2, 0.3, 0.4])
    logits_fn = lambda ids: torch.log(q).expand(*ids.shape, 4)  # noqa: E731
    encode = lambda text: ["abcd".index(ch) for ch in text]  # noqa: E731
    tests = {"first": [{"prompt": "a", "classes": ["b", "cd"], "answer_index": 0},  # 0.2 against 0.12
                       {"prompt": "d", "classes": ["b", "cd"], "answer_index": 1}],  # 0.12 against 0.2
             "second": [{"prompt": "b", "classes": ["c", "d"], "answer_index": 1}]}  # 0.4 against 0.3
    scores = prize.score_two_class_tests(logits_fn, encode, tests, batch_size=1)
    assert list(scores) == ["first", "second"]
    m = math.log(0.2 / 0.12)
    np.testing.assert_allclose(scores["first"]["margins"], [m, -m], atol=1e-6)
    np.testing.assert_allclose(scores["second"]["margins"], [math.log(4 / 3)], atol=1e-6)
    assert scores["first"]["accuracy"] == 0.5 and scores["second"]["accuracy"] == 1.0
    # with two classes the loss is softplus(−margin): log(1 + e^−m), averaged over the set
    assert scores["first"]["loss"] == pytest.approx((math.log1p(math.exp(-m)) + math.log1p(math.exp(m))) / 2, rel=1e-6)
    assert scores["second"]["loss"] == pytest.approx(math.log1p(3 / 4), rel=1e-6)
    assert all(round(x, 6) == x for x in scores["first"]["margins"])  # stored to six decimals


def test_two_class_scores_reject_a_three_class_item():
    uniform = lambda ids: torch.zeros(*ids.shape, 4)  # noqa: E731
    encode = lambda text: ["abcd".index(ch) for ch in text]  # noqa: E731
    tests = {"mixed": [{"prompt": "a", "classes": ["b", "c", "d"], "answer_index": 0}]}
    with pytest.raises(ValueError, match="mixed: margins need two classes"):
        prize.score_two_class_tests(uniform, encode, tests)


def test_span_of_a_merging_toy_tokenizer_by_hand():
    def encode(text):  # characters, except that "ab" is one token (id 1000)
        ids, i = [], 0
        while i < len(text):
            if text.startswith("ab", i):
                ids, i = ids + [1000], i + 2
            else:
                ids, i = ids + [ord(text[i])], i + 1
        return ids

    x, a, b, c = (ord(ch) for ch in "xabc")
    # "xa" + "b" re-tokenises as x, ab: the merged token belongs to the class, conditioned on "x" alone
    assert class_token_span(encode, "xa", "b", "joint") == ([x, 1000], 1)
    assert class_token_span(encode, "xa", "b", "separate") == ([x, a, b], 2)
    # nothing merges: both conventions agree on "prompt tokens, then class tokens"
    assert class_token_span(encode, "xa", "c", "joint") == ([x, a, c], 2)
    assert class_token_span(encode, "xa", "c", "separate") == ([x, a, c], 2)


def test_metric_of_a_padded_row_and_a_tie():
    out = classification_metric(np.array([[-np.inf, -1.0, -1.0], [-2.0, -1.0, -np.inf]]), [2, 1])
    assert out["loss"][0] == pytest.approx(math.log(2))  # two equal classes share the mass; −inf gets none
    assert out["loss"][1] == pytest.approx(math.log(1 + math.exp(-1)))
    assert out["correct"].tolist() == [False, True]  # argmax takes the first of a tie


def test_count_params_by_hand_on_a_gpt2_and_a_plain_module():
    from transformers import GPT2Config, GPT2LMHeadModel

    V, P, d, L = 50, 16, 8, 2
    model = GPT2LMHeadModel(GPT2Config(vocab_size=V, n_positions=P, n_embd=d, n_layer=L, n_head=2))
    # a block: two layer norms (4d), attention (3d² + 3d, d² + d), MLP (4d² + 4d, 4d² + d); then the final norm
    non_embedding = L * (12 * d * d + 13 * d) + 2 * d
    assert prize.count_params(model) == non_embedding
    assert prize.count_params(model, non_embedding=False) == non_embedding + V * d + P * d  # lm_head is tied
    linear = torch.nn.Linear(3, 5)
    assert prize.count_params(linear) == prize.count_params(linear, non_embedding=False) == 20


def test_jsonl_round_trip_with_a_limit(tmp_path):
    examples = [PrizeExample(f"p{i}", (" a", " b", " c"), i % 3) for i in range(4)]
    path = prize.write_prize_jsonl(examples, tmp_path / "t.jsonl")
    assert json.loads(path.read_text().splitlines()[1]) == {"prompt": "p1", "classes": [" a", " b", " c"],
                                                           "answer_index": 1}
    assert prize.load_prize_task(str(path)) == examples
    assert prize.load_prize_task(str(path), limit=2) == examples[:2]
    assert prize.as_examples([examples[0], {"prompt": "q", "classes": [" x", " y"], "answer_index": 0}]) == \
        [examples[0], PrizeExample("q", (" x", " y"), 0)]
