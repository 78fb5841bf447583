"""Tests of scalinglab.experiments.knowledge_capacity (chapter 06): profiles, specs, the run function,
and a negative and a positive control for every claim through :func:`measure`. The stored-bits accounting it
imports (``scalinglab.capacity``) is tested in tests/test_capacity.py."""

import numpy as np
import pytest
import torch

from scalinglab import capacity
from scalinglab.claims import INCONCLUSIVE, NOT_REPRODUCED, REPRODUCED, evaluate, judge
from scalinglab.experiments import knowledge_capacity as kc
from scalinglab.params import select_profile

CLAIMS = {c.id: c for c in kc.CLAIMS}


def test_the_chapter_module_exposes_the_capacity_accounting():
    for name in ("value_ce_bits", "stored_bits", "net_stored_bits", "bits_per_parameter", "quantize_weights",
                 "evaluate_capacity"):
        assert getattr(kc, name) is getattr(capacity, name), name
        assert name not in kc.__all__, name  # documented once, in scalinglab.capacity


def test_profiles_and_smoke_overrides():
    assert set(kc.PROFILES) == {"ci", "full"}
    for name, s in kc.PROFILES.items():
        assert s["replicates"] >= 3
        assert len(s["widths"]) >= 4 and max(s["exposures"]) >= 100
        assert all(m % min(s["batch_size"], m) == 0 for m in s["individuals"])
    assert max(kc.PROFILES["full"]["exposures"]) == kc.Q3F_EXPOSURES
    assert kc.Q3_EXPOSURES in kc.PROFILES["ci"]["exposures"]
    assert set(kc.SMOKE_OVERRIDES) <= set(kc.PROFILES["full"])
    smoke = select_profile("full", kc.PROFILES, smoke=True, smoke_overrides=kc.SMOKE_OVERRIDES)
    assert sum(s.train.steps for s in kc.make_specs(smoke, 0)) < 2000


def test_claims_have_one_headline_and_unique_ids():
    assert sum(c.headline for c in kc.CLAIMS) == 1 and CLAIMS["Q2"].headline
    assert len(CLAIMS) == len(kc.CLAIMS)


def test_make_specs_controls_exposures_and_seeds():
    s = kc.PROFILES["ci"]
    specs = kc.make_specs(s, 7)
    n_runs = len(s["individuals"]) + len(s["exposures"]) - 1
    assert len(specs) == s["replicates"] * len(s["widths"]) * n_runs
    for spec in specs:
        assert spec.train.steps * spec.train.batch_size == spec.exposures * spec.facts.n_individuals
    by_rep = {r: {sp.facts.seed for sp in specs if sp.replicate == r} for r in range(s["replicates"])}
    assert all(len(v) == 1 for v in by_rep.values()) and len({v.pop() for v in by_rep.values()}) == s["replicates"]
    assert specs == kc.make_specs(s, 7) and specs != kc.make_specs(s, 8)
    with pytest.raises(ValueError):  # exposures not matched by steps
        kc.CapacitySpec(model=specs[0].model, train=specs[0].train, facts=specs[0].facts,
                        exposures=specs[0].exposures + 1, init_seed=0, control_seed=0, replicate=0)


def test_epoch_batches_show_every_item_once_per_epoch():
    pick = kc._epoch_batches(12, 4)
    g = torch.Generator().manual_seed(0)
    seen = torch.cat([pick(g) for _ in range(6)])
    assert sorted(seen[:12].tolist()) == list(range(12)) and sorted(seen[12:].tolist()) == list(range(12))


@pytest.fixture(scope="module")
def smoke_run():
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SCALINGLAB_THREADS", "1")  # tiny models: one thread (two spin against each other)
        settings = select_profile("ci", kc.PROFILES, smoke=True, smoke_overrides=kc.SMOKE_OVERRIDES)
        specs = kc.make_specs(settings, 0)
        yield specs, [kc.run_capacity(s) for s in specs]


def test_run_function_on_a_tiny_spec(smoke_run, monkeypatch):
    monkeypatch.setenv("SCALINGLAB_THREADS", "1")
    specs, results = smoke_run
    r = results[0]
    for key in ("stored_bits", "stored_bits_unclipped", "control_bits", "net_bits", "net_bits_int8",
                "net_bits_int4", "n_params", "n_params_nonembedding", "total_bits"):
        assert key in r
    assert all(0 <= x["stored_bits"] <= x["total_bits"] for x in results)
    assert r["n_params"] > r["n_params_nonembedding"]
    again = kc.run_capacity(specs[0])
    assert again["net_bits"] == r["net_bits"]  # deterministic
    table = kc.results_table(specs, results)
    verdicts = evaluate(kc.CLAIMS, kc.measure(table, 0), "ci", smoke=True)
    assert all(v.verdict == INCONCLUSIVE for v in verdicts)


def test_a_small_model_memorises_a_small_table(monkeypatch):
    monkeypatch.setenv("SCALINGLAB_THREADS", "1")
    s = dict(kc.PROFILES["ci"], n_attributes=4, widths=[32], individuals=[16], exposures=[200], replicates=1,
             batch_size=16)
    spec = kc.make_specs(s, 0)[0]
    r = kc.run_capacity(spec)
    assert r["net_bits"] >= 0.8 * r["total_bits"]  # far below capacity: nearly everything is stored
    assert r["net_bits_int8"] >= 0.95 * r["net_bits"]


# --- controls for every claim through measure() ------------------------------------------------------

def verdict(claim_id, profile="ci", **overrides):
    return judge(CLAIMS[claim_id], kc.measure(kc.smoke_table(**overrides), 0)[claim_id], profile).verdict


def test_q1_plateau_controls():
    assert verdict("Q1", growth=1.0) == REPRODUCED
    assert verdict("Q1", growth=1.6, bits_per_individual=400.0) == NOT_REPRODUCED  # stored bits still grow with the data


def test_q2_linear_capacity_controls():
    assert verdict("Q2", slope=1.0) == REPRODUCED
    assert verdict("Q2", slope=0.5, a=5.0) == NOT_REPRODUCED
    assert verdict("Q2", slope=1.2, a=0.2) == NOT_REPRODUCED  # the slope on P that capacity ∝ N predicts at ci
    assert verdict("Q2", slope=1.0, growth=1.6) == INCONCLUSIVE  # precondition: no plateau
    assert verdict("Q2", slope=1.0, params=[2_000, 4_000, 8_000, 16_000]) == INCONCLUSIVE  # < one decade


def test_q3_bits_per_parameter_controls():
    assert verdict("Q3", a=1.0) == REPRODUCED
    assert verdict("Q3", a=0.2) == NOT_REPRODUCED
    assert verdict("Q3", a=1.0, exposures=[30, 300]) == INCONCLUSIVE  # 100 exposures not run


def test_q3f_full_profile_controls():
    assert verdict("Q3F", "full", a=2.5, exposures=[100, 1000], bits_per_individual=400.0) == REPRODUCED
    assert verdict("Q3F", "full", a=0.5, exposures=[100, 1000]) == NOT_REPRODUCED
    assert verdict("Q3F", "ci", a=2.5, exposures=[100, 1000], bits_per_individual=400.0) == INCONCLUSIVE  # only full decides it


def test_q4_exposure_controls():
    assert verdict("Q4", exposure_ratio=0.5) == REPRODUCED
    assert verdict("Q4", exposure_ratio=1.0) == NOT_REPRODUCED


def test_q5_int8_controls():
    assert verdict("Q5", int8=1.0) == REPRODUCED
    assert verdict("Q5", int8=0.5) == NOT_REPRODUCED


def test_q6_int4_controls():
    assert verdict("Q6", int4=0.3) == REPRODUCED
    assert verdict("Q6", int4=1.0) == NOT_REPRODUCED  # a quantiser that rounds nothing


def test_measure_reports_preconditions_and_details():
    m = kc.measure(kc.smoke_table(), 3)
    assert m["Q2"].preconditions["param_range"] == pytest.approx(12.5)
    assert m["Q2"].seeds == [3] and len(m["Q2"].details["per_replicate"]) == 3
    assert m["Q2"].details["slope_nonembedding"] == pytest.approx(1.0, abs=0.1)  # N = 0.8 P in smoke_table
    assert m["Q1"].preconditions["data_over_capacity"] >= 2
    growth = kc.growth_ratios(kc.smoke_table(growth=1.2, noise=0.0))
    assert np.allclose(growth, 1.2)
    slopes = kc.capacity_slopes(kc.smoke_table(slope=0.8, a=10.0, noise=0.0))
    assert np.allclose(slopes, 0.8)
    assert kc.measure(kc.smoke_table(slope=0.8, a=10.0, noise=0.0))["Q2"].estimate == pytest.approx(0.8)


# --- the simulation audit ----------------------------------------------------------------------------

CI = select_profile("ci", kc.PROFILES)


def audited(world, claim_id, seed=11, settings=CI, profile="ci"):
    """The verdict of one claim on one simulated sweep of ``world`` (a name in WORLDS)."""
    m = kc.analyse(kc.simulate(kc.WORLDS[world], settings, seed), settings, seed)
    return judge(CLAIMS[claim_id], m[claim_id], profile).verdict


def test_audit_protocol_and_rivals():
    from scalinglab import audit

    audit.check_module(kc)
    for c in kc.CLAIMS:
        assert c.method == "seed_t" and c.rivals  # a t interval over replicates, audited against a rival
    assert CLAIMS["Q2"].rivals == ("nonembedding",) and "low_capacity" in CLAIMS["Q3"].rivals


def test_q2_band_comes_from_the_rival_slope_on_the_ci_ladder():
    assert kc.nonembedding_slope(CI) == pytest.approx(kc.Q2_RIVAL_SLOPE_CI, abs=0.005)
    lo, hi = CLAIMS["Q2"].criterion.thresholds
    assert (lo, hi) == pytest.approx((0.9, 1.1))
    P, N = kc.param_counts(16, CI)
    assert P > N and (P, N) == (4880, 3312)


def test_simulate_has_the_shape_of_the_sweep():
    table = kc.simulate(kc.WORLDS["paper"], CI, 0)
    specs = kc.make_specs(CI, 0)
    assert len(table) == len(specs)
    real_cols = {"replicate", "width", "individuals", "exposures", "net_bits", "net_bits_int8", "net_bits_int4",
                 "n_params", "n_params_nonembedding", "total_bits", "n_facts", "bits_per_param"}
    assert real_cols <= set(table.columns)
    keys = sorted(zip(table["replicate"], table["width"], table["individuals"], table["exposures"]))
    assert keys == sorted((s.replicate, s.model.d_model, s.facts.n_individuals, s.exposures) for s in specs)
    assert table.equals(kc.simulate(kc.WORLDS["paper"], CI, 0))  # deterministic
    assert not table.equals(kc.simulate(kc.WORLDS["paper"], CI, 1))


def test_measure_agrees_with_the_table_functions():
    table = kc.simulate(kc.WORLDS["paper"], CI, 3)
    m = kc.measure(table, 0)
    assert np.allclose(m["Q1"].details["per_replicate"], kc.growth_ratios(table).to_numpy())
    assert np.allclose(m["Q2"].details["per_replicate"], kc.capacity_slopes(table).to_numpy())
    assert m["Q2"].details["slope_nonembedding"] == pytest.approx(
        kc.capacity_slopes(table, column="n_params_nonembedding").mean())
    assert np.allclose(m["Q3"].details["per_replicate"], kc.mean_bits_per_param(table, 100).to_numpy())
    low = kc.mean_bits_per_param(table, 30, peak=False) / kc.mean_bits_per_param(table, 100, peak=False)
    assert np.allclose(m["Q4"].details["per_replicate"], low.to_numpy())


def test_truth_follows_the_world():
    t = kc.truth(kc.WORLDS["paper"], CI)
    assert t["Q2"] == pytest.approx(1.0, abs=0.03) and t["Q3"] == pytest.approx(1.0, abs=0.1)  # the peak of noisy tables sits a little high
    assert t["Q4"] == pytest.approx(kc.Q4_PAPER_RATIO_CI, abs=0.02) and t["Q6"] == pytest.approx(0.35, abs=0.01)
    assert kc.truth(kc.WORLDS["nonembedding"], CI)["Q2"] == pytest.approx(1.2, abs=0.03)
    assert kc.truth(kc.WORLDS["below_capacity"], CI)["Q1"] == pytest.approx(2.0, abs=0.05)


@pytest.mark.parametrize("claim_id", ["Q1", "Q2", "Q3", "Q4", "Q5", "Q6"])
def test_each_claim_holds_in_the_paper_world_and_fails_in_its_rivals(claim_id):
    assert audited("paper", claim_id) == REPRODUCED
    for rival in CLAIMS[claim_id].rivals:
        assert audited(rival, claim_id) == NOT_REPRODUCED, rival


def test_q3f_is_decided_at_full_only():
    full = select_profile("full", kc.PROFILES)
    assert audited("paper", "Q3F", settings=full, profile="full") == REPRODUCED
    assert audited("low_capacity", "Q3F", settings=full, profile="full") == NOT_REPRODUCED
    assert audited("paper", "Q3F") == INCONCLUSIVE  # ci does not decide it


def test_a_small_audit_tells_the_papers_world_from_its_rival():
    from scalinglab import audit

    paper = audit.rates(kc, "paper", n_sims=10, seed=5)
    rival = audit.rates(kc, "nonembedding", n_sims=10, seed=5)
    assert paper["Q2"]["reproduced"] >= 0.8 and rival["Q2"]["reproduced"] == 0.0
    assert paper["Q2"]["coverage"] >= 0.7
