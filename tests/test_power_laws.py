"""Chapter 00's experiment module: profiles, run specs, the byte-LM run and K1's measurement."""

import dataclasses

import numpy as np
import pytest

from scalinglab.claims import INCONCLUSIVE, NOT_REPRODUCED, REPRODUCED, judge
from scalinglab.experiments import power_laws as pl
from scalinglab.flops import flops_per_token
from scalinglab.models import TransformerConfig, non_embedding_params
from scalinglab.params import select_profile
from scalinglab.runs import run_key
from scalinglab.seeds import derive_seed
from scalinglab.train import TrainConfig

# Sizes like the ci ladder's: five fitted, two held out.
N = np.array([1.7e3, 3.1e3, 1.4e4, 2.5e4, 5.5e4, 1.47e5, 3.07e5])
K1 = pl.CLAIMS[0]


# --- K1's statistic, interval and controls (through analyse, the function the chapter uses) -------------

CI = select_profile("ci", pl.PROFILES)
FULL = select_profile("full", pl.PROFILES)


def test_position_is_zero_on_the_power_law_one_on_the_rival_and_half_at_their_midpoint():
    power = (8.8e13 / N) ** 0.076  # Kaplan et al.'s fitted law
    out = pl.extrapolation_test(N, power)
    assert out["position"] == pytest.approx(0.0, abs=1e-9) and out["mare_power"] < 1e-9
    assert out["alpha"] == pytest.approx(0.076) and out["log10_N_c"] == pytest.approx(np.log10(8.8e13))
    assert out["observed"] == pytest.approx(power[-2:].tolist())
    assert out["gap"] < 0  # on a power law the log-linear rival predicts the lower loss
    loglin = 3.2 - 0.12 * np.log(N)
    out = pl.extrapolation_test(N, loglin)
    assert out["position"] == pytest.approx(1.0) and out["mare_loglin"] == pytest.approx(0.0, abs=1e-9)
    assert out["predicted_loglin"] == pytest.approx(loglin[-2:].tolist())
    # held-out losses at the geometric midpoint of the two laws' predictions: exactly half-way
    first = pl.extrapolation_test(N, power)
    mid = power.copy()
    mid[-2:] = np.sqrt(np.asarray(first["predicted_power"]) * np.asarray(first["predicted_loglin"]))
    assert pl.extrapolation_test(N, mid)["position"] == pytest.approx(0.5)
    # a floor: the held-out losses lie above the power law, on the far side from the rival
    assert pl.extrapolation_test(N, 1.0 + 6.0 * N ** -0.3)["position"] < 0
    with pytest.raises(ValueError):
        pl.extrapolation_test(N[:4], power[:4])  # two fitted points only
    with pytest.raises(ValueError):
        pl.extrapolation_test(N[::-1], power)


def test_measure_interval_is_the_delete_one_ladder_jackknife():
    sizes, losses, reps = pl.simulate(pl.WORLDS["paper"], CI, 5)
    m = pl.measure(sizes, losses, reps)["K1"]
    run_means = losses.mean(axis=2)
    theta = pl.extrapolation_test(sizes, run_means.mean(axis=0))["position"]
    loo = np.array([pl.extrapolation_test(sizes, np.delete(run_means, r, axis=0).mean(axis=0))["position"]
                    for r in range(len(reps))])
    g = len(reps)
    half = 4.302652729911275 * np.sqrt((g - 1) / g * np.sum((loo - loo.mean()) ** 2))  # t(0.975, 2 df)
    assert m.estimate == pytest.approx(theta)
    assert m.interval == pytest.approx((theta - half, theta + half))
    assert m.details["alpha_lo"] < m.details["alpha"] < m.details["alpha_hi"]
    assert set(m.preconditions) == {p.name for p in K1.preconditions}
    means = run_means.mean(axis=0)
    assert m.preconditions["top_gain"] == pytest.approx((means[-3] - means[-1]) / means[-3])
    # one loss per run gives the same measurement as its windows
    assert pl.measure(sizes, run_means, reps)["K1"].interval == pytest.approx(m.interval)
    with pytest.raises(ValueError):
        pl.measure(sizes[:-1], losses, reps)
    with pytest.raises(ValueError):
        pl.measure(sizes, losses, reps[:-1])


@pytest.mark.parametrize("seed", [0, 1])
def test_k1_controls_on_the_full_design(seed):
    """Negative controls: the log-linear and the saturating worlds are not reproduced; positive: the
    paper world is (at the full profile, which decides K1)."""
    for world, expected in [("paper", REPRODUCED), ("log_linear", NOT_REPRODUCED), ("saturating", NOT_REPRODUCED)]:
        m = pl.analyse(pl.simulate(pl.WORLDS[world], FULL, seed), FULL, seed)["K1"]
        verdict = judge(K1, m, "full")
        assert verdict.verdict == expected, (world, verdict.reason)


def test_k1_flat_losses_fail_the_trend_precondition():
    flat = dataclasses.replace(pl.WORLDS["paper"], alpha=0.0)  # no N-dependence at all
    m = pl.analyse(pl.simulate(flat, FULL, 3), FULL, 3)["K1"]
    verdict = judge(K1, m, "full")
    assert verdict.verdict == INCONCLUSIVE and "precondition failed" in verdict.reason


def test_worlds_truth_and_simulate_match_the_design():
    truth = {name: pl.truth(w, CI)["K1"] for name, w in pl.WORLDS.items()}
    assert truth["paper"] == pytest.approx(0.0, abs=1e-9)
    assert truth["log_linear"] == pytest.approx(1.0)
    assert truth["saturating"] == pytest.approx(-1.0, abs=1e-6)
    assert pl.WORLDS["saturating"].E > 0 and pl.WORLDS["paper"].E == 0
    sizes = pl._ci_sizes()
    ends = [sizes[0], sizes[-pl.HELD_OUT - 1]]
    for world in pl.WORLDS.values():  # the rivals agree with the paper world at the fit's two ends
        assert world.loss(ends) == pytest.approx(pl.WORLDS["paper"].loss(ends))
    sizes, losses, reps = pl.simulate(pl.WORLDS["paper"], CI, 0)
    assert sizes.tolist() == pl.ladder_table(CI)["N (non-embedding)"].tolist()
    assert losses.shape == (CI["n_seeds"], len(CI["ladder"]), CI["eval_windows"]) and reps == [0, 1, 2]
    again, other = pl.simulate(pl.WORLDS["paper"], CI, 0)[1], pl.simulate(pl.WORLDS["paper"], CI, 1)[1]
    assert np.array_equal(again, losses) and not np.array_equal(other, losses)
    quiet = dataclasses.replace(pl.WORLDS["paper"], sigma=0.0)
    assert pl.simulate(quiet, CI, 0)[1].mean(axis=2) == pytest.approx(
        np.broadcast_to(quiet.loss(sizes), (CI["n_seeds"], len(sizes))))
    with pytest.raises(ValueError):
        pl.LadderWorld(law="cubic")
    # the measured noise is given at the ci ladder's sizes, interpolated between them and flat beyond
    paper = pl.WORLDS["paper"]
    assert [n for n, _ in pl.SEED_SIGMA_BY_SIZE] == sizes.tolist()
    assert paper.noise(sizes) == pytest.approx([v for _, v in pl.SEED_SIGMA_BY_SIZE])
    assert paper.noise([1.0, 1e9]) == pytest.approx([pl.SEED_SIGMA_BY_SIZE[0][1], pl.SEED_SIGMA_BY_SIZE[-1][1]])
    mid = np.sqrt(sizes[0] * sizes[1])
    assert paper.noise([mid])[0] == pytest.approx(np.mean([v for _, v in pl.SEED_SIGMA_BY_SIZE[:2]]))
    assert pl.SEED_SIGMA_LOG == pytest.approx(np.sqrt(np.mean(np.square([v for _, v in pl.SEED_SIGMA_BY_SIZE]))), abs=5e-4)
    loud = dataclasses.replace(paper, sigma=0.05)
    assert loud.noise(sizes) == pytest.approx(np.full(len(sizes), 0.05))


def test_audit_module_protocol_and_a_small_audit():
    from scalinglab import audit

    audit.check_module(pl)
    assert K1.method == "jackknife_t" and set(K1.rivals) == {"log_linear", "saturating"}
    paper = audit.rates(pl, "paper", n_sims=40, profile="full")["K1"]
    assert paper["coverage"] >= 0.85
    for rival in K1.rivals:
        r = audit.rates(pl, rival, n_sims=40, profile="full")["K1"]
        assert r["reproduced"] < paper["reproduced"] and r["not_reproduced"] > 0.5, (rival, r)
    report = audit.audit(pl, n_sims=20, profile="ci", smoke=True)  # the smoke design runs end to end
    assert set(report.rates) == {"paper", "log_linear", "saturating"}


def test_more_replicate_ladders_narrow_k1_and_the_count_needed_is_the_first_to_reach_the_target():
    # the ci design: three ladders put K1 inside the band on few simulated power-law ladders, many more do
    out = pl.replicates_for_power(CI, counts=(3, 12, 30), n_sims=60)
    shares = [out["inside"][r] for r in (3, 12, 30)]
    assert shares[0] < 0.3 < shares[2] and shares[0] <= shares[1] <= shares[2], shares
    assert out["needed"] == min([r for r, v in out["inside"].items() if v >= 0.8], default=None)
    assert pl.replicates_for_power(CI, counts=(3,), n_sims=20)["needed"] is None
    only = pl.design_rates(CI, n_sims=10, worlds=("paper",))
    assert set(only) == {"paper"}


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
        elif f.name == "cooldown_shape":
            new = "linear"
        elif f.name == "step_milestones":
            new = (0.25, 0.5)
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
                  "matmul_flops_per_s", "mfu", "train_s", "model_flops"}
    assert set(result) == documented
    steps, batch, T = spec.train.steps, spec.train.batch_size, spec.model.context_length
    assert result["model_flops"] == pytest.approx(flops_per_token(spec.model, "palm") * steps * batch * T)
    assert 0 < result["train_s"] <= result["wall_time_s"]
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
