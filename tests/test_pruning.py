"""Tests of scalinglab.pruning: selection by difficulty, many small classifiers trained at once on their own
subsets, EL2N and the self-supervised prototype score."""

import math

import numpy as np
import pytest
import torch

from scalinglab import pruning
from scalinglab.families import StackedMLP
from scalinglab.models import MLP, MLPConfig, classification_loss
from scalinglab.train import TrainConfig, seeded, train


# --- selection -------------------------------------------------------------------------------


def test_select_keeps_the_right_examples():
    difficulty = np.array([0.5, 3.0, -1.0, 2.0, 0.0])
    assert pruning.select(difficulty, 2, "hard").tolist() == [1, 3]
    assert pruning.select(difficulty, 2, "easy").tolist() == [2, 4]
    rnd = pruning.select(difficulty, 3, "random", np.random.default_rng(0))
    assert len(set(rnd.tolist())) == 3 and rnd.max() < 5
    with pytest.raises(ValueError):
        pruning.select(difficulty, 6, "hard")
    with pytest.raises(ValueError):
        pruning.select(difficulty, 2, "medium")
    with pytest.raises(ValueError):
        pruning.select(difficulty, 2, "random")  # needs an rng


def test_select_breaks_ties_by_index_and_splits_the_set():
    ties = np.zeros(5)
    assert pruning.select(ties, 2, "hard").tolist() == [3, 4]
    assert pruning.select(ties, 2, "easy").tolist() == [0, 1]
    assert pruning.select(ties, 0, "hard").tolist() == []
    assert pruning.select(ties, 5, "easy").tolist() == [0, 1, 2, 3, 4]
    d = np.random.default_rng(0).standard_normal(50)
    easy, hard = pruning.select(d, 20, "easy"), pruning.select(d, 30, "hard")
    assert sorted([*easy, *hard]) == list(range(50)) and d[easy].max() < d[hard].min()
    a, b = (pruning.select(d, 10, "random", np.random.default_rng(4)) for _ in range(2))
    assert np.array_equal(a, b) and np.all(np.diff(a) > 0)


# --- many small classifiers at once, and EL2N --------------------------------------------------


def _family_and_member_one_alone(make_model, x, y, subsets, tc):
    """Two copies of one model trained at once on ``subsets`` (:func:`pruning._train_on_subsets_at_once`), and
    model 1 replayed alone through :func:`scalinglab.train.train` on the very batches the family drew for it."""
    base = seeded(make_model, 0).double()
    family, _ = pruning._train_on_subsets_at_once([base, base], x, y, subsets, tc, torch.device("cpu"))
    batch_fn = pruning.subset_batches(x, y, subsets, tc.batch_size)
    gen = torch.Generator().manual_seed(tc.seed)
    replay = iter([tuple(t[1] for t in batch_fn(gen)) for _ in range(tc.steps)])
    single = seeded(make_model, 0).double()
    train(single, tc, lambda g: next(replay), classification_loss, device="cpu")
    return family, single


def test_training_on_subsets_at_once_equals_separate_training(monkeypatch):
    # each model of the stacked family trains on its own subset exactly as it would alone
    monkeypatch.setenv("SCALINGLAB_THREADS", "1")
    torch.manual_seed(0)
    cfg = MLPConfig(input_dim=4, hidden=(6,), n_classes=2)
    x = torch.randn(30, 4, dtype=torch.float64)
    y = (x[:, 0] > 0).long()
    subsets = [np.arange(0, 20), np.arange(10, 30)]
    tc = TrainConfig(steps=5, batch_size=8, lr=1e-2, grad_clip=None, seed=3)
    family, single = _family_and_member_one_alone(lambda: MLP(cfg), x, y, subsets, tc)
    torch.testing.assert_close(family.member(1).net[0].weight, single.net[0].weight, rtol=0, atol=1e-10)
    assert not torch.allclose(family.member(0).net[0].weight, single.net[0].weight)  # subsets differ
    xt = torch.randn(7, 4, dtype=torch.float64)
    torch.testing.assert_close(pruning.family_predict(family, xt)[1], single(xt).detach())


def test_stacked_cnn_equals_its_members_and_trains_like_them(monkeypatch):
    from scalinglab.models import CNN1D, CNN1DConfig

    monkeypatch.setenv("SCALINGLAB_THREADS", "1")
    cfg = CNN1DConfig(input_length=12, channels=(3, 4), kernel_sizes=(3, 3), stride=2, n_classes=3)
    models = [seeded(lambda: CNN1D(cfg), k).double() for k in range(3)]
    family = pruning.StackedCNN1D.from_models(models)
    x = torch.randn(3, 5, 12, dtype=torch.float64)
    out = family(x)
    assert out.shape == (3, 5, 3)
    for k, m in enumerate(models):
        torch.testing.assert_close(out[k], m(x[k]), rtol=0, atol=1e-12)
        torch.testing.assert_close(family(x[0])[k], m(x[0]), rtol=0, atol=1e-12)  # shared input
        torch.testing.assert_close(family.member(k)(x[k]), m(x[k]), rtol=0, atol=1e-12)
    assert len(family.decay_mask()) == len(family.ordered_parameters())
    assert isinstance(pruning.build_classifier(cfg), CNN1D) and isinstance(pruning.build_classifier(MLPConfig()), MLP)
    # training on subsets at once == training model 1 alone on its batches
    xs = torch.randn(30, 12, dtype=torch.float64)
    ys = (xs[:, 0] > 0).long()
    subsets = [np.arange(0, 20), np.arange(10, 30)]
    tc = TrainConfig(steps=4, batch_size=8, lr=1e-2, grad_clip=None, seed=3)
    fam, single = _family_and_member_one_alone(lambda: CNN1D(cfg), xs, ys, subsets, tc)
    torch.testing.assert_close(fam.member(1).convs[0].weight, single.convs[0].weight, rtol=0, atol=1e-10)
    torch.testing.assert_close(fam.member(1).head.weight, single.head.weight, rtol=0, atol=1e-10)


def test_subset_batches_draw_only_from_each_subset():
    x = torch.arange(50, dtype=torch.float32)[:, None]
    y = torch.arange(50)
    fn = pruning.subset_batches(x, y, [np.array([3, 7]), np.arange(40, 50)], batch_size=64)
    xb, yb = fn(torch.Generator().manual_seed(0))
    assert xb.shape == (2, 64, 1) and yb.shape == (2, 64)
    assert set(yb[0].tolist()) == {3, 7}
    assert set(yb[1].tolist()) <= set(range(40, 50))


def test_el2n_formula():
    logits = torch.tensor([[10.0, -10.0], [0.0, 0.0], [-10.0, 10.0]])
    labels = torch.tensor([0, 0, 0])
    s = pruning.el2n(logits, labels)
    assert s[0] == pytest.approx(0.0, abs=1e-6)
    assert s[1] == pytest.approx(math.sqrt(0.5), abs=1e-6)
    assert s[2] == pytest.approx(math.sqrt(2), abs=1e-6)


def test_el2n_scores_find_mislabelled_examples(monkeypatch):
    monkeypatch.setenv("SCALINGLAB_THREADS", "1")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((400, 5)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64)
    flipped = np.arange(0, 400, 20)
    y[flipped] = 1 - y[flipped]
    cfg = MLPConfig(input_dim=5, hidden=(16,), n_classes=2)
    scores = pruning.el2n_scores(x, y, cfg, TrainConfig(steps=100, batch_size=64, lr=1e-2, grad_clip=None),
                                 n_runs=4, seed=0, device="cpu")
    hardest = set(np.argsort(scores)[-len(flipped):].tolist())
    assert len(hardest & set(flipped.tolist())) >= 0.7 * len(flipped)


def test_el2n_matches_the_formula_on_batched_logits():
    logits = torch.randn(2, 6, 4, generator=torch.Generator().manual_seed(0))
    labels = torch.tensor([0, 1, 2, 3, 0, 1])
    z = logits.numpy()
    probs = np.exp(z - z.max(-1, keepdims=True))
    probs /= probs.sum(-1, keepdims=True)
    expected = np.linalg.norm(probs - np.eye(4)[labels.numpy()], axis=-1)  # (2, 6)
    s = pruning.el2n(logits, labels)
    assert s.shape == (2, 6) and np.allclose(s.numpy(), expected, atol=1e-6)
    assert (s >= 0).all() and (s <= math.sqrt(2)).all()


def test_family_predict_chunks_and_stack_classifiers_picks_the_family():
    cfg = MLPConfig(input_dim=3, hidden=(5,), n_classes=4)
    models = [seeded(lambda: MLP(cfg), k) for k in range(2)]
    family = pruning.stack_classifiers(models)
    assert isinstance(family, StackedMLP)
    x = torch.randn(11, 3)
    out = pruning.family_predict(family, x, chunk=4)
    assert out.shape == (2, 11, 4)
    torch.testing.assert_close(out, pruning.family_predict(family, x))
    torch.testing.assert_close(out[1], models[1](x).detach())
    with pytest.raises(TypeError):
        pruning.build_classifier(object())


def test_subset_batches_reject_an_empty_subset():
    with pytest.raises(ValueError):
        pruning.subset_batches(torch.zeros(4, 1), torch.zeros(4), [np.array([0, 1]), np.array([], int)], 8)


# --- self-supervised prototypes -----------------------------------------------------------------


def test_nt_xent_prefers_matching_views():
    z = torch.randn(16, 8)
    assert pruning.nt_xent(z, z + 0.01 * torch.randn(16, 8)) < pruning.nt_xent(z, torch.randn(16, 8))


def test_augment_is_a_shift_scale_and_noise():
    x = torch.arange(10, dtype=torch.float32).repeat(3, 1)
    out = pruning.augment(x, torch.Generator().manual_seed(0), max_shift=2, noise=0.0, scale=0.0)
    for row in out:
        assert any(torch.equal(row, torch.roll(x[0], s)) for s in range(-2, 3))


def test_prototype_scores_measure_distance_to_centroids():
    rng = np.random.default_rng(0)
    centres = np.array([[5.0, 0.0], [-5.0, 0.0]])
    emb = np.concatenate([c + 0.1 * rng.standard_normal((50, 2)) for c in centres])
    outlier = np.array([[0.0, 3.0]])
    emb = np.concatenate([emb, outlier])
    difficulty, clusters = pruning.prototype_scores(emb, n_clusters=2, seed=0)
    assert np.argmax(difficulty) == len(emb) - 1
    assert len(set(clusters[:50].tolist())) == 1 and clusters[0] != clusters[50]


def test_nt_xent_matches_a_direct_computation():
    g = torch.Generator().manual_seed(1)
    z1, z2 = torch.randn(5, 3, generator=g), torch.randn(5, 3, generator=g)
    z = torch.nn.functional.normalize(torch.cat([z1, z2]), dim=1)
    t, B, losses = 0.5, 5, []
    for i in range(2 * B):
        j = (i + B) % (2 * B)  # the other view of example i
        others = [k for k in range(2 * B) if k != i]
        logits = torch.stack([z[i] @ z[k] / t for k in others])
        losses.append(-(z[i] @ z[j] / t) + torch.logsumexp(logits, 0))
    assert pruning.nt_xent(z1, z2, temperature=t).item() == pytest.approx(torch.stack(losses).mean().item(), rel=1e-6)


def test_augment_without_shift_scale_or_noise_is_the_identity_and_seeded():
    x = torch.randn(4, 12)
    same = pruning.augment(x, torch.Generator().manual_seed(0), max_shift=0, noise=0.0, scale=0.0)
    torch.testing.assert_close(same, x, rtol=0, atol=0)
    a, b = (pruning.augment(x, torch.Generator().manual_seed(3)) for _ in range(2))
    assert torch.equal(a, b) and not torch.equal(a, x)
