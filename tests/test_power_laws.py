"""Chapter 00's experiment module: profiles, run specs, the byte-LM run and K1's measurement."""

import dataclasses

import numpy as np
import pytest

from scalinglab.claims import INCONCLUSIVE, NOT_REPRODUCED, REPRODUCED, judge
from scalinglab.experiments import power_laws as pl
from scalinglab.models import TransformerConfig, non_embedding_params
from scalinglab.params import select_profile
from scalinglab.runs import run_key
from scalinglab.seeds import derive_seed
from scalinglab.train import TrainConfig

# Sizes like the ci ladder's: five fitted, two held out.
N = np.array([1.7e3, 3.1e3, 1.4e4, 2.5e4, 5.5e4, 1.47e5, 3.07e5])
K1 = pl.CLAIMS[0]


def synthetic_losses(curve, seed=0, replicates=3, windows=32, seed_noise=0.003):
    """Per-window losses (replicates, sizes, windows) around ``curve``: each window has a difficulty
    shared by every size, each run a multiplicative seed effect."""
    rng = np.random.default_rng(seed)
    difficulty = rng.normal(0.0, 0.3, windows)
    run_effect = np.exp(rng.normal(0.0, seed_noise, (replicates, len(curve), 1)))
    return curve[None, :, None] * (1.0 + difficulty[None, None, :]) * run_effect


# --- controls of K1 (through measure, the function the chapter uses) -----------------------------------

@pytest.mark.parametrize("seed", [0, 1])
def test_k1_negative_control_log_linear_losses_are_not_reproduced(seed):
    curve = 3.2 - 0.12 * np.log(N)  # loss linear in log N: the rival's form, not a power law
    m = pl.measure(N, synthetic_losses(curve, seed=seed), [0, 1, 2], n_resamples=200, seed=seed)["K1"]
    verdict = judge(K1, m, "ci")
    assert verdict.verdict == NOT_REPRODUCED, verdict.reason
    assert m.interval[1] < 1.5


@pytest.mark.parametrize("seed", [0, 1])
def test_k1_positive_control_power_law_losses_are_reproduced(seed):
    curve = (1.2e6 / N) ** 0.11  # Kaplan's form, falling about as fast as the chapter's losses
    m = pl.measure(N, synthetic_losses(curve, seed=seed), [0, 1, 2], n_resamples=200, seed=seed)["K1"]
    verdict = judge(K1, m, "ci")
    assert verdict.verdict == REPRODUCED, verdict.reason
    assert m.details["alpha_lo"] < m.details["alpha"] < m.details["alpha_hi"]
    assert m.details["alpha"] == pytest.approx(0.11, rel=0.1)
    assert m.estimate == pytest.approx(m.details["mare_loglin"] / m.details["mare_power"])


def test_k1_flat_losses_fail_the_trend_precondition():
    rng = np.random.default_rng(3)
    flat = 1.5 * np.exp(rng.normal(0.0, 0.003, (3, len(N))))  # no N-dependence at all
    m = pl.measure(N, flat, [0, 1, 2], n_resamples=200)["K1"]
    verdict = judge(K1, m, "ci")
    assert verdict.verdict == INCONCLUSIVE and "precondition failed" in verdict.reason


def test_measure_is_deterministic_and_accepts_one_loss_per_run():
    losses = synthetic_losses((1.2e6 / N) ** 0.11).mean(axis=2)  # (replicates, sizes)
    a = pl.measure(N, losses, [0, 1, 2], n_resamples=100, seed=4)["K1"]
    b = pl.measure(N, losses, [0, 1, 2], n_resamples=100, seed=4)["K1"]
    assert a.interval == b.interval and a.estimate == b.estimate
    assert set(a.preconditions) == {p.name for p in K1.preconditions}
    means = losses.mean(axis=0)
    assert a.preconditions["top_gain"] == pytest.approx((means[-3] - means[-1]) / means[-3])
    with pytest.raises(ValueError):
        pl.measure(N[:-1], losses, [0, 1, 2])
    with pytest.raises(ValueError):
        pl.measure(N, losses, [0, 1])


def test_extrapolation_test_scores_both_rivals_on_the_held_out_sizes():
    curve = 3.2 - 0.12 * np.log(N)
    out = pl.extrapolation_test(N, curve)
    assert out["mare_loglin"] == pytest.approx(0.0, abs=1e-9)  # the rival's own form: predicted exactly
    assert out["predicted_loglin"] == pytest.approx(curve[-2:].tolist())
    power = (8.8e13 / N) ** 0.076  # Kaplan et al.'s fitted law
    out = pl.extrapolation_test(N, power)
    assert out["alpha"] == pytest.approx(0.076) and out["log10_N_c"] == pytest.approx(np.log10(8.8e13))
    assert out["mare_power"] < 1e-9 < out["mare_loglin"]
    assert out["observed"] == pytest.approx(power[-2:].tolist())
    with pytest.raises(ValueError):
        pl.extrapolation_test(N[:4], power[:4])  # two fitted points only
    with pytest.raises(ValueError):
        pl.extrapolation_test(N[::-1], power)


def test_saturating_extrapolation_recovers_a_law_with_a_floor():
    curve = 1.2 + 6.0 * N ** -0.3
    out = pl.saturating_extrapolation(N, curve)
    assert out["E"] == pytest.approx(1.2, rel=1e-2) and out["alpha"] == pytest.approx(0.3, rel=1e-2)
    assert out["mare"] < 1e-3 and len(out["predicted"]) == pl.HELD_OUT


# --- profiles and specs --------------------------------------------------------------------------------

def test_profiles_and_smoke_overrides():
    assert set(pl.PROFILES) == {"ci", "full"}
    for name, settings in pl.PROFILES.items():
        assert len(settings["ladder"]) >= pl.HELD_OUT + 3
        assert settings["n_seeds"] >= 3, f"{name}: K1's interval resamples replicates"
        sizes = [non_embedding_params(pl.model_config(r, settings["context_length"])) for r in settings["ladder"]]
        assert sizes == sorted(set(sizes))
        assert set(settings) == set(pl.PROFILES["ci"])
    assert set(pl.SMOKE_OVERRIDES) <= set(pl.PROFILES["full"])
    smoke = select_profile("full", pl.PROFILES, smoke=True, smoke_overrides=pl.SMOKE_OVERRIDES)
    assert smoke["steps"] <= 50 and smoke["eval_windows"] <= 64 and len(smoke["ladder"]) >= pl.HELD_OUT + 3
    assert max(d for _, _, d in smoke["ladder"]) <= 32


def test_learning_rate_heuristic_and_ladder_table():
    assert pl.learning_rate_for(16) == pytest.approx(1e-2)
    assert pl.learning_rate_for(64) == pytest.approx(5e-3)
    table = pl.ladder_table(pl.PROFILES["ci"])
    assert len(table) == len(pl.PROFILES["ci"]["ladder"])
    assert (table["N (non-embedding)"] == table["N check (model)"]).all()
    assert table["N (non-embedding)"].is_monotonic_increasing


CORPUS = {"name": "test-corpus", "sha256": "0" * 64, "train_bytes": 1000, "val_bytes": 100}


def test_ladder_specs_derive_seeds_by_name_and_replicate():
    settings = pl.PROFILES["ci"]
    specs = pl.ladder_specs(settings, CORPUS, seed=7)
    assert len(specs) == settings["n_seeds"] * len(settings["ladder"])
    for s in specs:
        assert s.init_seed == derive_seed(7, "init", s.replicate)
        assert s.train.seed == derive_seed(7, "data-order", s.replicate)
        assert s.train.lr == pytest.approx(pl.learning_rate_for(s.model.d_model))
    assert len({run_key(s) for s in specs}) == len(specs)
    assert {run_key(s) for s in specs}.isdisjoint(run_key(s) for s in pl.ladder_specs(settings, CORPUS, seed=8))


def test_every_field_of_the_spec_changes_its_key():
    base = pl.ladder_specs(pl.PROFILES["ci"], CORPUS, seed=0)[0]
    key = run_key(base)
    changed = [dataclasses.replace(base, replicate=1), dataclasses.replace(base, init_seed=base.init_seed + 1),
               dataclasses.replace(base, eval_windows=base.eval_windows + 1),
               dataclasses.replace(base, corpus=dataclasses.replace(base.corpus, sha256="1" * 64))]
    for name in ("train_bytes", "val_bytes"):
        changed.append(dataclasses.replace(base, corpus=dataclasses.replace(base.corpus, **{name: 1})))
    changed.append(dataclasses.replace(base, corpus=dataclasses.replace(base.corpus, name="other")))
    for f in dataclasses.fields(TransformerConfig):
        value = getattr(base.model, f.name)
        new = (not value) if isinstance(value, bool) else (value * 2 if f.name != "dropout" else 0.1)
        changed.append(dataclasses.replace(base, model=dataclasses.replace(base.model, **{f.name: new})))
    for f in dataclasses.fields(TrainConfig):
        value = getattr(base.train, f.name)
        if f.name == "schedule":
            new = "constant"
        elif f.name == "grad_clip":
            new = None
        elif f.name == "warmup_steps":
            new = value + 1
        else:
            new = value * 2 if value else 1
        changed.append(dataclasses.replace(base, train=dataclasses.replace(base.train, **{f.name: new})))
    keys = {run_key(s) for s in changed}
    assert key not in keys and len(keys) == len(changed)
    assert run_key(dataclasses.replace(base)) == key
    with pytest.raises(dataclasses.FrozenInstanceError):
        base.replicate = 3


# --- one real run -------------------------------------------------------------------------------------

def test_run_byte_lm_on_a_tiny_spec_returns_the_documented_keys():
    corpus = pl._corpus(4_000_000)
    settings = dict(pl.PROFILES["ci"], ladder=[(1, 2, 8)], steps=6, batch_size=4, context_length=16,
                    n_seeds=1, eval_windows=8, evals=2)
    spec = pl.ladder_specs(settings, corpus.spec(), seed=0)[0]
    result = pl.run_byte_lm(spec)
    documented = {"history", "final_val_loss", "best_val_loss", "best_step", "window_losses", "wall_time_s",
                  "n_params", "n_params_total", "device", "threads", "tokens_per_s", "model_flops_per_s",
                  "matmul_flops_per_s", "mfu"}
    assert set(result) == documented
    assert len(result["window_losses"]) == 8
    assert result["best_val_loss"] == pytest.approx(np.mean(result["window_losses"]), abs=1e-5)
    assert result["best_val_loss"] == min(row["val_loss"] for row in result["history"])
    assert [row["step"] for row in result["history"]] == [3, 6]
    assert result["n_params"] == non_embedding_params(spec.model)
    assert 4.0 < result["best_val_loss"] < 6.5  # near ln 256 = 5.55 after six steps
    with pytest.raises(ValueError, match="corpus hash"):
        pl.run_byte_lm(dataclasses.replace(spec, corpus=dataclasses.replace(spec.corpus, sha256="0" * 64)))
    specs = [spec]
    n, losses, reps = pl.loss_array(specs, [result])
    assert losses.shape == (1, 1, 8) and reps == [0] and n.tolist() == [result["n_params"]]
    table = pl.runs_table(specs, [result])
    assert table.loc[0, "best_val_loss"] == result["best_val_loss"]
    h = result["history"]
    assert table.loc[0, "late_fall"] == pytest.approx((h[0]["val_loss"] - h[1]["val_loss"]) / h[0]["val_loss"])
    assert pl.run_cost(spec) > 0


def test_size_summary_gives_means_and_t_intervals():
    import pandas as pd

    table = pd.DataFrame({"N": [10, 10, 10, 20, 20, 20], "N_total": [30] * 3 + [40] * 3, "replicate": [0, 1, 2] * 2,
                          "best_val_loss": [2.0, 2.1, 1.9, 1.5, 1.6, 1.4]})
    summary = pl.size_summary(table)
    assert summary["N"].tolist() == [10, 20] and summary["replicates"].tolist() == [3, 3]
    assert summary["mean_loss"].tolist() == pytest.approx([2.0, 1.5])
    half = 4.302652729911275 * 0.1 / np.sqrt(3)  # t(0.975, 2 df) · s / √n
    assert summary["lo"].tolist() == pytest.approx([2.0 - half, 1.5 - half])
    assert summary["hi"].tolist() == pytest.approx([2.0 + half, 1.5 + half])
    assert summary["rel_sd"].tolist() == pytest.approx([0.1 / 2.0, 0.1 / 1.5])
