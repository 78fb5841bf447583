"""Tests of scalinglab.experiments.emergence (chapter 01): profiles, specs, the run function, the claims'
statistics and the simulation audit. The metrics it imports are tested in tests/test_metrics.py."""

import numpy as np
import pytest

from scalinglab import metrics
from scalinglab.experiments import emergence as em


def test_the_chapter_module_exposes_the_generic_metrics():
    for name in ("exact_match", "token_edit_distance", "emergence_score", "greedy_decode", "target_token_probs",
                 "pass_until", "expected_pass_until_successes", "PassUntilResult"):
        assert getattr(em, name) is getattr(metrics, name), name


# ---------------------------------------------------------------------------------------------
# The chapter's experiment module: profiles, specs, the run function and every claim's controls
# ---------------------------------------------------------------------------------------------

import dataclasses

from scalinglab import params
from scalinglab.claims import INCONCLUSIVE, NOT_REPRODUCED, REPRODUCED, judge
from scalinglab.runs import run_key

CLAIM = {c.id: c for c in em.CLAIMS}
N8 = np.geomspace(1e3, 6e4, 8)


def test_profiles_and_smoke_overrides():
    assert set(em.PROFILES) == {"ci", "full"}
    ci, full = em.PROFILES["ci"], em.PROFILES["full"]
    # full is the larger design: a wider ladder, more steps and a larger test set, longer answers
    assert len(full["ladder"]) > len(ci["ladder"]) and full["steps"] > ci["steps"] and full["n_test"] > ci["n_test"]
    assert max(full["train_digits"]) > max(ci["train_digits"]) and full["default_digits"] > ci["default_digits"]
    assert set(em.SMOKE_OVERRIDES) <= set(em.PROFILES["ci"]) and set(em.PROFILES["ci"]) == set(em.PROFILES["full"])
    smoke = params.select_profile("full", em.PROFILES, smoke=True, smoke_overrides=em.SMOKE_OVERRIDES)
    assert smoke["steps"] <= 50 and len(smoke["ladder"]) <= 3 and smoke["n_test"] <= 50
    assert em.PROFILES["ci"]["n_seeds"] >= 3 and em.PROFILES["full"]["n_seeds"] >= 3
    assert sum(c.headline for c in em.CLAIMS) == 1 and CLAIM["E1"].headline
    assert CLAIM["E4"].revisions and CLAIM["E5"].revisions


def test_ladder_specs_seeds_and_keys():
    settings = params.select_profile("ci", em.PROFILES)
    specs = em.ladder_specs(settings, seed=1)
    assert len(specs) == settings["n_seeds"] * len(settings["ladder"])
    assert len({s.init_seed for s in specs}) == len(specs)  # every model its own initialisation
    assert {s.replicate for s in specs} == set(range(settings["n_seeds"]))
    # within a replicate every size is scored on the same test problems; replicates differ
    assert len({(s.replicate, s.eval.test_seed) for s in specs}) == settings["n_seeds"]
    assert em.ladder_specs(settings, seed=1) == specs and em.ladder_specs(settings, seed=2) != specs
    # changing any field changes the run key (no hidden constant can serve a stale result)
    spec = specs[0]
    keys = {run_key(spec)}
    for changed in (dataclasses.replace(spec, init_seed=spec.init_seed + 1),
                    dataclasses.replace(spec, train=dataclasses.replace(spec.train, lr=0.02)),
                    dataclasses.replace(spec, task=dataclasses.replace(spec.task, held_out_fraction=0.2)),
                    dataclasses.replace(spec, eval=dataclasses.replace(spec.eval, max_draws=7))):
        keys.add(run_key(changed))
    assert len(keys) == 5
    assert em.run_cost(specs[-1]) > em.run_cost(specs[0])
    steps = [s.train.steps for s in specs if s.replicate == 0]
    assert steps == sorted(steps) and steps[-1] == settings["steps"] and all(t % 50 == 0 for t in steps)


def test_steps_for():
    assert em.steps_for(1000, 1000, 2200, 0.2) == 2200
    assert em.steps_for(10, 1000, 2200, 0.5) == 200  # 2200 / 10 = 220, rounded to 50
    assert em.steps_for(1, 10**9, 2200, 1.0) == 50  # never fewer than 50
    assert em.steps_for(5, 10, 20, 1.0) == 20  # smoke-sized step counts are kept


def test_run_arithmetic_model_and_tables():
    settings = params.select_profile("full", em.PROFILES, smoke=True, smoke_overrides=em.SMOKE_OVERRIDES)
    settings.update(ladder=[(1, 2, 8), (1, 2, 12)], steps=3, n_test=12, n_length=10, n_pass_until=4, max_draws=8)
    specs = em.ladder_specs(settings, seed=0)
    results = [em.run_arithmetic_model(s) for s in specs]
    r = results[0]
    L = specs[0].task.answer_length(settings["default_digits"])
    assert r["default"]["n"] == 12 and len(r["default"]["em"]) == 12
    assert np.asarray(r["default"]["log_p"]).shape == (12, L)
    assert set(r["by_length"]) == {str(d) for d in settings["train_digits"]}
    assert r["large"]["n"] == 12 * settings["large_factor"]
    assert len(r["pass_until"]["q"]) == 4 and max(r["pass_until"]["draws"]) <= 8
    assert r["cpu_s"] >= r["train_cpu_s"] > 0
    models = em.models_table(specs, results)
    assert len(models) == len(specs) and {"exact_match", "edit_similarity", "pass_until"} <= set(models)
    lengths = em.length_table(specs, results)
    assert sorted(lengths["L"].unique()) == sorted(specs[0].task.answer_length(d) for d in settings["train_digits"])
    data = em.ladder_data(specs, results)
    assert data.em[0].shape == (12, 2) and len(data.lengths) == settings["n_seeds"]
    assert data.lengths[0][L][0].shape == (10, 2) and data.log_p[0].shape == (12, 2, L)
    measured = em.measure(specs, results, seed=0)
    assert set(measured) == set(CLAIM)


# --- the statistics, on inputs whose answer is known ------------------------------------------

def test_per_token_forecast_recovers_the_paper_law():
    # s follows −ln s = (N/c)^−α exactly: the small half forecasts the large half, and exact match = s^L
    N = np.geomspace(250, 25_000, 9)
    s = np.exp(-((N / 400.0) ** -0.9))
    f = em.per_token_forecast(N, s, 4, em.fit_sizes(9), 300)
    assert em.fit_sizes(9) == 5 and em.fit_sizes(10) == 5 and em.fit_sizes(3) == 2
    assert f["alpha"] == pytest.approx(0.9, abs=1e-3)
    assert np.allclose(f["em_forecast"], s ** 4, atol=1e-3)
    assert abs(em.forecast_error(N, s ** 4, s, 4, 5, 300)) < 1e-3
    # a per-token curve that jumps after the fitted half: the forecast misses the rise (positive error)
    jump = np.where(np.arange(9) < 5, 0.3, 0.98)
    assert em.forecast_error(N, jump ** 4, jump, 4, 5, 300) > 0.8
    # exact match falling short of the forecast counts against it too (the error is signed)
    assert em.forecast_error(N, 0.5 * s ** 4, s, 4, 5, 300) < -0.2


def test_discrepancies_and_pass_until_statistics():
    log_p = np.log(np.array([[[0.5, 0.5]], [[1.0, 0.5]]]))  # 2 problems, 1 size, 2 positions
    # p̄ = (0.75, 0.5): the paper's model predicts 0.375; exact match 1/2
    assert em.independent_token_discrepancy(np.array([[1.0], [0.0]]), log_p) == pytest.approx([0.125])
    e = np.array([[1.0], [0.0]])
    d = np.array([[0.0], [2.0]])
    out = em.length_model_discrepancy({2: (e, d, log_p)})
    # edit distance 1 against Σ(1 − p̄) = 0.75: |1 − 0.75| / 2 = 0.125 as well
    assert out["statistic"] == pytest.approx(0.125)
    # one success in all draws is zero decades; 100 problems solved at once is 2 + log10(budget)
    assert em.resolved_decades([1, 0], [1, 999], 500) == pytest.approx(0.0)
    assert em.resolved_decades(np.ones(100), np.ones(100), 1000) == pytest.approx(5.0)
    assert em.resolved_decades(np.zeros(10), np.full(10, 100), 100) == pytest.approx(np.log10(0.5))
    rate = em.pass_until_rates([np.array([[0.0, 1.0]])], [np.array([[10.0, 1.0]])])
    assert rate[0] == pytest.approx(0.05) and rate[1] == pytest.approx(0.5)  # clipped inside (0, 1)


# --- the simulation audit: worlds, simulate and analyse ----------------------------------------

from scalinglab import audit

CI = audit.audit_settings(em, "ci")


def test_module_is_auditable_and_simulate_is_shaped_like_the_ladder():
    audit.check_module(em)
    d = em.simulate(em.WORLDS["paper"], CI, 0)
    S, L = len(CI["ladder"]), 4
    assert np.allclose(d.N, em.ladder_sizes(CI)) and d.answer_length == L and len(d.em) == CI["n_seeds"]
    assert d.em[0].shape == (CI["n_test"], S) and d.log_p[0].shape == (CI["n_test"], S, L)
    assert d.pu_solved[0].shape == (CI["n_pass_until"], S) and d.pu_draws[0].max() <= CI["max_draws"]
    assert sorted(d.lengths[0]) == [2, 3, 4] and d.lengths[0][3][2].shape == (CI["n_length"], S, 3)
    # the paper world crosses inside the ladder; its per-token loss is the power law (N/c)^−α
    e = np.mean([x.mean(0) for x in d.em], 0)
    assert e[0] < 0.05 and e[-1] > 0.8
    w = em.WORLDS["paper"]
    assert w.token_loss(np.array([w.c]))[0] == pytest.approx(1.0)
    jump = em.WORLDS["emergence"].token_loss(d.N)
    assert jump[3] > 1.5 and jump[5] < 0.05  # the jump falls between two ladder sizes
    assert set(em.analyse(d, CI, 0)) == set(CLAIM)
    assert em.simulate(em.WORLDS["paper"], CI, 0).em[0].tolist() == d.em[0].tolist()  # seeded


def test_every_claim_names_a_covering_method_and_its_rival():
    for c in em.CLAIMS:
        assert c.method in ("seed_t", "jackknife_t", "jackknife_bc_t") and c.rivals and set(c.rivals) <= set(em.WORLDS)
    assert all("predicted_ratio" not in [p.name for p in c.preconditions] for c in em.CLAIMS)


@pytest.mark.parametrize("cid", ["E1", "E2", "E3", "E4", "E5", "E6"])
def test_claim_controls_through_simulate_and_analyse(cid):
    """Negative control: the claim's rival world is not reproduced. Positive control: the paper world is.
    Both at the ci design with ten seeds, so that the t interval is narrow."""
    c = CLAIM[cid]
    many = dict(CI, n_seeds=10)
    rival = em.analyse(em.simulate(em.WORLDS[c.rivals[0]], many, 11), many, 11)[cid]
    assert judge(c, rival, "ci").verdict == NOT_REPRODUCED
    paper = em.analyse(em.simulate(em.WORLDS["paper"], many, 12), many, 12)[cid]
    assert judge(c, paper, "ci").verdict == REPRODUCED


def test_small_audit_paper_beats_every_rival():
    for c in em.CLAIMS:
        paper = audit.rates(em, "paper", 12, "ci", seed=3)[c.id]
        for r in c.rivals:
            rival = audit.rates(em, r, 12, "ci", seed=3)[c.id]
            assert rival["reproduced"] == 0.0 and paper["reproduced"] >= rival["reproduced"]
    e1 = audit.rates(em, "paper", 12, "ci", seed=3)["E1"]
    assert e1["reproduced"] >= 0.5


def test_truth_is_the_large_sample_statistic():
    t_paper = em.truth(em.WORLDS["paper"], CI)
    t_jump = em.truth(em.WORLDS["emergence"], CI)
    assert abs(t_paper["E1"]) < 0.05 and t_jump["E1"] > 0.6  # the forecast holds only in the mirage
    assert t_paper["E2"] > 0.99 and t_jump["E2"] < 0.8
    assert em.truth(em.WORLDS["correlated"], CI)["E3"] > 0.3 and t_paper["E3"] < 0.06
