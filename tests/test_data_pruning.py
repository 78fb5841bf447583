"""Tests of scalinglab.pruning (chapter 03) and scalinglab.data.mnist1d."""

import math

import numpy as np
import pytest
import torch
from scipy.optimize import minimize

from scalinglab.experiments import data_pruning as pruning
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


# --- the perceptron model --------------------------------------------------------------------


def test_data_are_nested_and_labelled_by_the_teacher():
    X, y, T = pruning.teacher_student_data(N=30, P=50, seed=3)
    X2, y2, T2 = pruning.teacher_student_data(N=30, P=80, seed=3)
    assert np.array_equal(X, X2[:50]) and np.array_equal(T, T2)
    assert np.array_equal(y, np.sign(X @ T))
    assert math.isclose(np.linalg.norm(T), 1.0)


def test_probe_angle():
    T = pruning.teacher(50, seed=1)
    for theta in (0.0, 0.3, 1.2):
        J = pruning.probe(T, theta, seed=1)
        assert math.isclose(np.linalg.norm(J), 1.0, rel_tol=1e-12)
        assert math.isclose(float(np.arccos(np.clip(J @ T, -1, 1))), theta, abs_tol=1e-7)


def test_margin_difficulty_ranks_small_margins_as_hard():
    J = np.array([1.0, 0.0])
    X = np.array([[0.1, 5.0], [-2.0, 0.0], [1.0, 1.0]])
    d = pruning.margin_difficulty(X, J)
    assert np.argmax(d) == 0 and np.argmin(d) == 1


def _reference_max_margin(X, y):
    """Hard-margin SVM without bias by a general solver: min ½‖w‖² s.t. y_i w·x_i ≥ 1."""
    Z = y[:, None] * X
    res = minimize(lambda w: 0.5 * w @ w, np.ones(X.shape[1]), jac=lambda w: w, method="SLSQP",
                   constraints=[{"type": "ineq", "fun": lambda w: Z @ w - 1, "jac": lambda w: Z}],
                   options={"ftol": 1e-12, "maxiter": 1000})
    assert res.success
    return res.x


@pytest.mark.parametrize("N,P,working_size", [(10, 40, 12), (15, 15, None), (8, 60, 9)])
def test_max_margin_matches_a_reference_solver(N, P, working_size):
    X, y, T = pruning.teacher_student_data(N, P, seed=N + P)
    sol = pruning.max_margin(X, y, working_size=working_size)
    w_ref = _reference_max_margin(X, y)
    assert sol.margin == pytest.approx(1 / np.linalg.norm(w_ref), rel=1e-6)
    assert float(sol.w @ w_ref / np.linalg.norm(w_ref)) == pytest.approx(1.0, abs=1e-6)
    margins = y * (X @ sol.w)
    assert margins.min() == pytest.approx(sol.margin, rel=1e-9)  # KKT: nobody inside the margin
    assert 1 <= sol.n_support <= N + 1


def test_max_margin_working_set_grows_to_the_exact_answer():
    # a tiny initial working set forces several rounds; the answer must not depend on it
    X, y, _ = pruning.teacher_student_data(20, 400, seed=7)
    a = pruning.max_margin(X, y, working_size=5)
    b = pruning.max_margin(X, y, working_size=400)
    assert a.rounds > 1
    assert a.margin == pytest.approx(b.margin, rel=1e-8)
    assert np.allclose(a.w, b.w, atol=1e-6)


def test_max_margin_rejects_inseparable_data():
    X = np.array([[1.0, 0.0], [1.0, 0.0]])
    y = np.array([1.0, -1.0])
    with pytest.raises(ValueError):
        pruning.max_margin(X, y)


def test_test_error_formula_matches_monte_carlo():
    rng = np.random.default_rng(0)
    T = pruning.teacher(5, seed=0)
    w = T + 0.8 * rng.standard_normal(5)
    X = rng.standard_normal((200_000, 5))
    mc = np.mean(np.sign(X @ w) != np.sign(X @ T))
    assert pruning.perceptron_test_error(w, T) == pytest.approx(mc, abs=4e-3)
    assert pruning.perceptron_test_error(T, T) == 0.0
    assert pruning.perceptron_test_error(-T, T) == pytest.approx(1.0)


def test_keep_hard_with_perfect_probe_keeps_the_support_vectors():
    # θ = 0, abundant data: pruning the easiest half leaves the max-margin student unchanged
    spec = {"N": 20, "P": 400, "seed": 1, "theta_deg": 0, "jobs": [[400, "hard"], [200, "hard"], [200, "easy"]]}
    fits = pruning.run_perceptron(spec)["fits"]
    assert fits[0]["error"] == pytest.approx(fits[1]["error"], abs=1e-9)
    assert fits[2]["error"] != pytest.approx(fits[0]["error"], abs=1e-6)


def test_perceptron_specs_cover_both_grids():
    specs = pruning.perceptron_specs(10, [0], [1, 4], [1.0, 0.5], [2], [0, 10])
    jobs = {(s["theta_deg"], s["P"], tuple(j)) for s in specs for j in s["jobs"]}
    assert (0, 40, (20, "easy")) in jobs and (0, 40, (20, "random")) in jobs
    assert (10, 40, (20, "hard")) in jobs and (10, 40, (20, "easy")) not in jobs
    assert (0, 40, (20, "hard")) in jobs  # α_prune = 2 at f = 0.5
    assert (0, 20, (20, "hard")) in jobs  # α_prune = 2 at f = 1


# --- neural part ------------------------------------------------------------------------------


def test_training_on_subsets_at_once_equals_separate_training(monkeypatch):
    # each model of the stacked family trains on its own subset exactly as it would alone
    monkeypatch.setenv("SCALINGLAB_THREADS", "1")
    torch.manual_seed(0)
    cfg = MLPConfig(input_dim=4, hidden=(6,), n_classes=2)
    x = torch.randn(30, 4, dtype=torch.float64)
    y = (x[:, 0] > 0).long()
    subsets = [np.arange(0, 20), np.arange(10, 30)]
    tc = TrainConfig(steps=5, batch_size=8, lr=1e-2, grad_clip=None, seed=3)
    base = seeded(lambda: MLP(cfg), 0).double()
    family, _ = pruning._train_on_subsets_at_once([base, base], x, y, subsets, tc, torch.device("cpu"))
    # replay model 1 alone, as an ordinary MLP through scalinglab.train.train, with the same batches
    batch_fn = pruning.subset_batches(x, y, subsets, tc.batch_size)
    gen = torch.Generator().manual_seed(tc.seed)
    replay = []
    for _ in range(tc.steps):
        xb, yb = batch_fn(gen)
        replay.append((xb[1], yb[1]))
    it = iter(replay)
    single = seeded(lambda: MLP(cfg), 0).double()
    train(single, tc, lambda g: next(it), classification_loss, device="cpu")
    torch.testing.assert_close(family.member(1).net[0].weight, single.net[0].weight, rtol=0, atol=1e-10)
    assert not torch.allclose(family.member(0).net[0].weight, single.net[0].weight)  # subsets differ
    xt = torch.randn(7, 4, dtype=torch.float64)
    torch.testing.assert_close(pruning.family_predict(family, xt)[1], single(xt).detach())


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


def test_training_steps_rule():
    assert pruning.training_steps(16000, 12, 128, 500) == 1500
    assert pruning.training_steps(1000, 12, 128, 500) == 500


# --- MNIST-1D ---------------------------------------------------------------------------------


def test_mnist1d_is_seeded_and_leaves_global_rng_alone(store_root):
    from scalinglab.data.mnist1d import cached_mnist1d, make_mnist1d

    np.random.seed(123)
    before = np.random.get_state()[1].copy()
    a = make_mnist1d(60, 40, seed=5)
    assert np.array_equal(before, np.random.get_state()[1])
    b = cached_mnist1d(60, 40, seed=5)
    c = cached_mnist1d(60, 40, seed=5)  # second call reads the store
    assert a.x_train.shape == (60, 40) and a.x_test.shape == (40, 40)
    assert np.array_equal(a.x_train, b.x_train) and np.array_equal(b.y_test, c.y_test)
    assert a.x_train.dtype == np.float32 and set(np.unique(a.y_train)) <= set(range(10))
    assert not np.array_equal(a.x_train, make_mnist1d(60, 40, seed=6).x_train)
    sub = a.subset(20)
    assert np.array_equal(sub.x_train, a.x_train[:20]) and sub.n_test == 40
    ds = a.as_dataset("test")
    assert len(ds) == 40 and set(ds.column_names) == {"x", "label"}
    with pytest.raises(ValueError):
        make_mnist1d(61, 40)
