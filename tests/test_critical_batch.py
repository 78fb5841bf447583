"""Chapter 04 (critical batch size): the task, the run functions, the sweeps, and a negative and a positive
control for every claim, through the chapter's measurement functions. The step–batch law itself (steps to
target, the fits) is tested in tests/test_batch_law.py and the design grids in tests/test_grids.py."""

import dataclasses
import math
import os

import numpy as np
import pandas as pd
import pytest
import torch

os.environ.setdefault("SCALINGLAB_THREADS", "1")  # tiny models: one thread is fastest, above all on a busy machine

from scalinglab import audit, batch_law, grids
from scalinglab.claims import NOT_REPRODUCED, REPRODUCED, judge
from scalinglab.intervals import jackknife_interval
from scalinglab.experiments import critical_batch as cb
from scalinglab.experiments.critical_batch import (BatchSizeFamilySpec, NoiseRunSpec, StepsTable, TeacherTask,
                                                   train_batch_size_family)
from scalinglab.params import select_profile
from scalinglab.runs import run_key

CLAIMS = {c.id: c for c in cb.CLAIMS}
BATCH = 2.0 ** np.arange(11)
EXCESS = np.array([0.8, 0.6, 0.45])


# ---- the step–batch law (scalinglab.batch_law), the task and its grids -------------------------------------------

def test_the_step_batch_law_is_the_generic_one():
    for name in ("steps_to_target", "steps_to_targets_table", "best_over_learning_rates", "make_stop_rule",
                 "StepBatchFit", "fit_step_batch_law", "out_of_sample_errors", "hyperbola_excess", "BendFit",
                 "fit_bend_law", "seed_mean_steps"):
        assert getattr(cb, name) is getattr(batch_law, name), name


def test_the_design_grids_are_the_generic_ones():
    assert cb.eval_step_grid is grids.eval_step_grid and cb.log_grid is grids.log_grid


def test_teacher_task_streams_and_bayes_floor():
    task = TeacherTask(input_dim=8, n_classes=4, teacher_width=16, seed=3)
    x1, y1 = task.sample(64, torch.Generator().manual_seed(0))
    x2, y2 = task.sample(64, torch.Generator().manual_seed(0))
    torch.testing.assert_close(x1, x2)
    assert torch.equal(y1, y2) and y1.min() >= 0 and y1.max() < 4
    x, p = task.heldout(512)
    torch.testing.assert_close(p.sum(1), torch.ones(512))
    xs, ys = task.sample(50_000, torch.Generator().manual_seed(1))  # labels follow the teacher
    freq = torch.bincount(ys, minlength=4).double() / len(ys)
    torch.testing.assert_close(freq, task.probabilities(xs.double()).mean(0), atol=0.01, rtol=0)
    assert 0 < task.bayes_loss() < math.log(4)
    other = TeacherTask(input_dim=8, n_classes=4, teacher_width=16, seed=4)
    assert not torch.allclose(other.heldout(8)[1], task.heldout(8)[1])  # the seed changes the teacher
    assert cb.make_task(5).seed == 5 and cb.make_task(5).logit_scale == cb.TASK["logit_scale"]


# ---- profiles, claims, specs --------------------------------------------------------------------------------------

def test_profiles_and_smoke_overrides():
    assert set(cb.PROFILES) == {"ci", "full"}
    assert set(cb.PROFILES["ci"]) == set(cb.PROFILES["full"])
    assert set(cb.SMOKE_OVERRIDES) <= set(cb.PROFILES["full"])
    smoke = select_profile("full", cb.PROFILES, smoke=True, smoke_overrides=cb.SMOKE_OVERRIDES)
    assert max(smoke["batch_sizes"]) <= 64 and max(smoke["hidden"]) <= 16
    assert cb.max_steps(1, smoke) <= 300 and smoke["noise_steps"] <= 20 and smoke["noise_per_example"] <= 256
    assert max(smoke["b6_widths"]) <= 32


def test_claims_are_well_formed():
    assert [c.id for c in cb.CLAIMS] == ["B1", "B2", "B3", "B4", "B5", "B6"]
    assert sum(c.headline for c in cb.CLAIMS) == 1
    assert CLAIMS["B6"].decided_by == ("full",)
    assert all(c.revisions for c in cb.CLAIMS)  # every criterion differs from the previous edition's
    edge = [p for p in CLAIMS["B1"].preconditions if p.name == "lr_edge_share"][0]
    assert edge.requirement.holds(0.2) and not edge.requirement.holds(0.21)
    # B1's band: the geometric midpoints between c = 1 and the bent rivals of the audit
    lo, hi = cb.PRODUCT_BAND
    assert lo == pytest.approx(math.sqrt(cb.WORLDS["sharp_bend"].c)) and hi == pytest.approx(math.sqrt(cb.WORLDS["soft_bend"].c))
    assert CLAIMS["B1"].criterion.low == lo and CLAIMS["B1"].criterion.high == hi
    assert [c.method for c in cb.CLAIMS] == ["jackknife_t", "seed_t", "jackknife_t", "seed_t", "seed_t", "seed_t"]
    # preconditions must not depend on the outcome they guard: no B_crit-inside test where a rival has no bend
    assert "bend_inside" not in {p.name for c in (CLAIMS["B1"], CLAIMS["B2"]) for p in c.preconditions}


def test_family_spec_seeds_and_key():
    settings = cb.PROFILES["ci"]
    task = cb.make_task(0)
    a = cb.family_spec(settings, task, 0, 16, [1.5, 1.4])
    b = cb.family_spec(settings, task, 1, 16, [1.5, 1.4])
    assert len(set(a.init_seeds)) == len(a.replicates) == settings["n_seeds"]
    assert set(a.init_seeds).isdisjoint(a.data_seeds) and a.init_seeds != b.init_seeds
    assert a == cb.family_spec(settings, task, 0, 16, [1.5, 1.4])  # deterministic
    assert len(a.lrs) == settings["n_lrs"] and a.lrs[0] < a.lrs[-1]
    keys = {run_key(a)}
    for field in dataclasses.fields(a):  # every field is in the run key
        value = getattr(a, field.name)
        if isinstance(value, tuple):
            changed = value[:-1] + (value[-1] + 1,) if value else (1,)
        elif isinstance(value, TeacherTask):
            changed = dataclasses.replace(value, seed=value.seed + 1)
        elif isinstance(value, str):
            changed = "float64"
        else:
            changed = value + 1
        keys.add(run_key(dataclasses.replace(a, **{field.name: changed})))
    assert len(keys) == len(dataclasses.fields(a)) + 1
    noise = cb.noise_specs(settings, task, 0, 0.01)
    assert len(noise) == settings["noise_seeds"] and len({s.probe_seed for s in noise}) == len(noise)


def _fake_result(spec: BatchSizeFamilySpec, best_index: int, base: float = 100.0) -> dict:
    """A family result whose steps are smallest at rate ``best_index`` (for every replicate and target)."""
    members, rows = [], []
    for j in spec.replicates:
        for i, lr in enumerate(spec.lrs):
            members.append({"lr": lr, "replicate": j})
            rows.append([base * (1 + abs(i - best_index)) * (1 + 0.01 * j) * (1 + t) for t in range(len(spec.targets))])
    return {"members": members, "steps_to_target": rows, "steps_run": 10, "wall_time_s": 0.1}


def test_widening_extends_only_edge_grids_and_merges():
    settings = dict(cb.PROFILES["ci"], n_lrs=3, n_seeds=2)
    task = cb.make_task(0)
    specs = [cb.family_spec(settings, task, 0, B, [1.5]) for B in (4, 16, 64)]
    results = [_fake_result(specs[0], 2), _fake_result(specs[1], 1), _fake_result(specs[2], 0)]  # top, interior, bottom
    extra = cb.widening_specs(specs, results, settings)
    assert [(s.batch_size, len(s.lrs)) for s in extra] == [(4, settings["widen_by"]), (64, settings["widen_by"])]
    assert min(extra[0].lrs) > max(specs[0].lrs) and max(extra[1].lrs) < min(specs[2].lrs)
    assert extra[0].init_seeds == specs[0].init_seeds and extra[0].data_seeds == specs[0].data_seeds
    # the extensions' rates are worse (steps grow away from the old edge): every best rate is now interior
    widened = [_fake_result(extra[0], -1), _fake_result(extra[1], len(extra[1].lrs))]
    all_specs, all_results = specs + extra, results + widened
    assert cb.widening_specs(all_specs, all_results, settings) == []
    table = cb.steps_table(all_specs, all_results, bayes=1.0)
    assert isinstance(table, StepsTable) and table.per_seed.shape == (2, 3, 1)
    assert list(table.n_lrs) == [5, 3, 5] and table.edge_share == 0.0
    assert table.best_lr[0, 0] == max(specs[0].lrs) and table.best_lr[2, 0] == min(specs[2].lrs)
    frame = cb.steps_frame(table)
    assert len(frame) == 3 and not frame["lr at grid edge"].any()
    np.testing.assert_allclose(table.excess, [0.5])


# ---- synthetic inputs for the controls -------------------------------------------------------------------------------

def _table(steps_fn, n_seeds=4, sigma=0.03, seed=0, edge=False) -> StepsTable:
    """A StepsTable whose replicate r has S(B, target j) = steps_fn(B, j) · exp(σ·noise)."""
    rng = np.random.default_rng(seed)
    clean = np.array([[steps_fn(B, j) for j in range(len(EXCESS))] for B in BATCH])
    per_seed = clean[None] * np.exp(sigma * rng.standard_normal((n_seeds, *clean.shape)))
    return StepsTable(batch_sizes=BATCH, targets=1.0 + EXCESS, excess=EXCESS, per_seed=per_seed,
                      best_lr=np.full(clean.shape, 0.01), on_edge=np.full(clean.shape, edge),
                      lr_range=np.tile([1e-3, 1e-1], (len(BATCH), 1)), n_lrs=np.full(len(BATCH), 7),
                      seeds=list(range(n_seeds)))


def law(b_crits, s_min=(5.0, 8.0, 14.0)):
    return lambda B, j: s_min[j] * (1 + b_crits[j] / B)


def _verdict(claim_id, measurement, profile="ci"):
    return judge(CLAIMS[claim_id], measurement, profile).verdict


def test_b1_controls():
    good = _table(law([150, 200, 250]))
    m = cb.measure_b1(good)
    assert m.estimate == pytest.approx(1.0, abs=0.1) and m.details["gamma"] == pytest.approx(1.0, abs=0.02)
    assert _verdict("B1", m) == REPRODUCED
    power = _table(lambda B, j: 3000.0 * (j + 1) * B ** -0.8)  # the rival of the previous edition's R² criterion
    assert _verdict("B1", cb.measure_b1(power)) == NOT_REPRODUCED
    corner = _table(lambda B, j: (5.0, 8.0, 14.0)[j] * max(1.0, 200.0 / B))  # a bend of the wrong shape
    assert _verdict("B1", cb.measure_b1(corner)) == NOT_REPRODUCED
    noisy = _table(law([150, 200, 250]), sigma=0.8, seed=1)  # the law buried in seed noise: nothing is decided
    assert judge(CLAIMS["B1"], cb.measure_b1(noisy), "ci").reason.startswith("underpowered")
    # the precondition: best rates on the grid's edge make S an upper bound, so nothing is decided
    assert judge(CLAIMS["B1"], cb.measure_b1(_table(law([150, 200, 250]), edge=True)), "ci").reason.startswith(
        "precondition failed")


def test_b1_interval_is_the_delete_one_seed_jackknife():
    table = _table(law([150, 200, 250]), n_seeds=5, sigma=0.1, seed=3)
    m = cb.measure_b1(table)

    def log_c(groups):
        return math.log(cb.fit_bend_law(table.batch_sizes, cb.seed_mean_steps(table.per_seed[list(groups)])).shape)

    lo, hi = jackknife_interval(log_c, list(range(5)))
    assert m.interval == pytest.approx((math.exp(lo), math.exp(hi)), rel=1e-4)
    assert m.estimate == pytest.approx(math.exp(log_c(range(5))), rel=1e-6)


def test_b2_controls():
    assert _verdict("B2", cb.measure_b2(_table(law([150, 200, 250])))) == REPRODUCED
    power = _table(lambda B, j: 3000.0 * (j + 1) * B ** -0.7)  # no bend: a power law predicts better
    m = cb.measure_b2(power)
    assert m.preconditions == {"lr_edge_share": 0.0}
    assert _verdict("B2", m) == NOT_REPRODUCED


def test_b3_controls():
    assert _verdict("B3", cb.measure_b3(_table(law([100, 200, 400])))) == REPRODUCED
    assert _verdict("B3", cb.measure_b3(_table(law([400, 200, 100])))) == NOT_REPRODUCED


def _noise(fn, n_runs=4, sigma=0.1, seed=0) -> pd.DataFrame:
    """Noise-run checkpoints with B_simple = B_noise = fn(excess loss) · exp(σ·noise)."""
    rng = np.random.default_rng(seed)
    rows = []
    for r in range(n_runs):
        for step, e in zip([1, 4, 16, 64, 256], [1.5, 1.2, 0.8, 0.5, 0.4]):
            v = fn(e) * math.exp(sigma * rng.standard_normal())
            rows.append({"replicate": r, "step": step, "excess": e, "heldout": 1.0 + e, "b_simple_exact": v,
                         "b_simple_two_batch": v, "b_noise": v})
    return pd.DataFrame(rows)


def test_b4_controls():
    assert _verdict("B4", cb.measure_b4(_noise(lambda e: 100.0 / e))) == REPRODUCED
    assert _verdict("B4", cb.measure_b4(_noise(lambda e: 100.0 * e))) == NOT_REPRODUCED
    assert cb.measure_b4(_noise(lambda e: 100.0 / e)).preconditions["loss_range"] == pytest.approx(1.5 / 0.4)


def test_b5_controls():
    b_crit = [150.0, 200.0, 260.0]
    table = _table(law(b_crit))
    # B_noise = B_crit at every target's loss (B_crit grows as the excess loss falls: 200·(0.6/e)^0.8 fits it)
    close = _noise(lambda e: 200.0 * (0.6 / e) ** 0.8)
    m = cb.measure_b5(table, close)
    assert m.preconditions["noise_covers_targets"] == 1.0
    assert _verdict("B5", m) == REPRODUCED
    far = _noise(lambda e: 100 * 200.0 * (0.6 / e) ** 0.8)  # a hundred times B_crit
    assert _verdict("B5", cb.measure_b5(table, far)) == NOT_REPRODUCED
    frame = cb.noise_compare_frame(table, close)
    assert frame["B_noise / B_crit"].between(0.5, 2).all()


def _b6_frame(fn, n_seeds=3, sigma=0.05, seed=0):
    """B_crit per (width, D, replicate) = fn(N, D) · exp(σ·noise), on the ci axes."""
    settings = cb.PROFILES["ci"]
    rng = np.random.default_rng(seed)
    rows = []
    for w in settings["b6_widths"]:
        for s in settings["b6_ref_steps"]:
            N, D = 3 * w * w, settings["b6_ref_batch"] * s
            row = {"width": w, "N": N, "D": D}
            row.update({f"b_crit_r{r}": fn(N, D) * math.exp(sigma * rng.standard_normal()) for r in range(n_seeds)})
            rows.append(row)
    return pd.DataFrame(rows), settings


def test_b6_controls():
    frame, settings = _b6_frame(lambda N, D: 0.5 * D**0.5)
    m = cb.measure_b6(frame, settings, edge_share=0.0)
    assert m.details["slope_data"][0] == pytest.approx(0.5, abs=0.1)
    assert _verdict("B6", m, "full") == REPRODUCED
    assert judge(CLAIMS["B6"], m, "ci").reason.startswith("only the full profile")  # ci reports, never decides
    frame, settings = _b6_frame(lambda N, D: 0.5 * N**0.5)
    assert _verdict("B6", cb.measure_b6(frame, settings, edge_share=0.0), "full") == NOT_REPRODUCED


# ---- the run functions --------------------------------------------------------------------------------------------

def _tiny_task():
    return TeacherTask(input_dim=8, n_classes=4, teacher_width=16, logit_scale=3.0, seed=0)


def test_train_batch_size_family_reaches_targets_and_stops_early():
    spec = BatchSizeFamilySpec(task=_tiny_task(), hidden=(16,), batch_size=16, lrs=(3e-3, 1e-2), replicates=(0, 1),
                               init_seeds=(11, 12), data_seeds=(21, 22), max_steps=2000, eval_per_octave=4,
                               n_heldout=256, targets=(1.2, 1.1))
    out = train_batch_size_family(spec)
    assert [m["replicate"] for m in out["members"]] == [0, 0, 1, 1]
    assert out["steps_run"] < 2000  # stopped once the best learning rate was known
    table = cb.steps_table([spec], [out], bayes=_tiny_task().bayes_loss())
    assert np.isfinite(table.per_seed).all()


def test_noise_scale_along_training_records_every_checkpoint():
    spec = NoiseRunSpec(task=_tiny_task(), hidden=(8,), batch_size=8, lr=1e-2, replicate=0, init_seed=1, data_seed=2,
                        probe_seed=3, steps=8, n_checkpoints=3, n_heldout=64, n_per_example=64, n_hessian=32,
                        n_vectors=4, two_batch=(4, 16, 2))
    out = cb.noise_scale_along_training(spec)
    steps = [r["step"] for r in out["checkpoints"]]
    assert steps == sorted(set(steps)) and steps[0] == 1 and steps[-1] == 8
    assert all(r["trace_cov"] > 0 and math.isfinite(r["b_noise"]) for r in out["checkpoints"])
    frame = cb.noise_frame([spec], [out], bayes=0.5)
    assert len(frame) == len(steps) and (frame["excess"] == frame["heldout"] - 0.5).all()


def test_b6_targets_read_the_best_rate_at_each_reference_step():
    settings = dict(cb.PROFILES["ci"], b6_widths=[8], b6_ref_steps=[2, 4], b6_seeds=2, b6_n_lrs=2, b6_ref_batch=4)
    task = _tiny_task()
    (spec,) = cb.b6_reference_specs(settings, task, 0)
    assert spec.max_steps == 4 and set(spec.eval_extra) == {2, 4} and spec.targets == (0.0,)
    heldout = [[3.0, 2.0, 1.0], [3.0, 2.2, 1.2], [3.0, 1.5, 1.4], [3.0, 1.7, 1.6]]  # (lr0, lr1) × 2 replicates
    res = {"members": [{"lr": spec.lrs[i], "replicate": r} for r in range(2) for i in range(2)],
           "steps": [1, 2, 4], "heldout": [heldout[0], heldout[2], heldout[1], heldout[3]]}
    (targets,) = cb.b6_targets([spec], [res], [2, 4])
    assert targets == pytest.approx([min(2.1, 1.6), min(1.1, 1.5)])
    assert len(cb.b6_specs(settings, task, 0, [targets])) == len(settings["b6_batch_sizes"])


# ---- the simulation audit -----------------------------------------------------------------------------------------

def test_module_is_auditable_and_every_rival_refutes_its_claim():
    audit.check_module(cb)
    for c in cb.CLAIMS:
        assert c.rivals and all(r in cb.WORLDS for r in c.rivals)
    settings = audit.audit_settings(cb, "ci")
    paper = cb.truth(cb.WORLDS["paper"], settings)
    assert paper["B1"] == pytest.approx(1.0, rel=1e-4)
    def clearly_inside(criterion, value, margin=0.05):  # the margin absorbs the Monte Carlo truths' error
        return ((criterion.low is None or value > criterion.low + margin)
                and (criterion.high is None or value < criterion.high - margin))

    for c in cb.CLAIMS:  # each claim true in the paper world and false in every one of its rivals
        assert clearly_inside(c.criterion, paper[c.id]), c.id
        for r in c.rivals:  # a direction that does not hold (no growth at all) counts as false
            assert not clearly_inside(c.criterion, cb.truth(cb.WORLDS[r], settings)[c.id]), (c.id, r)


def test_simulate_is_shaped_like_the_real_sweep():
    settings = audit.audit_settings(cb, "ci")
    obs = cb.simulate(cb.WORLDS["paper"], settings, 0)
    table, noise, (frame, edge) = obs["table"], obs["noise"], obs["b6"]
    assert table.per_seed.shape == (settings["n_seeds"], len(settings["batch_sizes"]), len(settings["excess_targets"]))
    np.testing.assert_allclose(table.excess, settings["excess_targets"])
    assert noise["replicate"].nunique() == settings["noise_seeds"]
    spec = cb.noise_specs(settings, cb.make_task(0), 0, 0.01)[0]  # the real runs' checkpoints
    assert sorted(noise["step"].unique()) == cb.noise_checkpoint_steps(spec.steps, spec.n_checkpoints)
    task = cb.make_task(0)
    for w in settings["b6_widths"]:
        assert cb.mlp_params(task.input_dim, (w, w), task.n_classes) == cb.n_params(task, (w, w))
    assert len(frame) == len(settings["b6_widths"]) * len(settings["b6_ref_steps"]) and edge == 0.0
    assert {f"b_crit_r{r}" for r in range(settings["b6_seeds"])} <= set(frame.columns)
    again = cb.simulate(cb.WORLDS["paper"], settings, 0)
    np.testing.assert_array_equal(again["table"].per_seed, table.per_seed)  # deterministic in the seed
    assert set(cb.analyse(obs, settings, 0)) == {c.id for c in cb.CLAIMS}


def test_small_audit_paper_reproduces_more_often_than_the_rivals():
    paper = audit.rates(cb, "paper", 12, "ci", seed=5)
    assert paper["B1"]["reproduced"] >= 0.5 and paper["B2"]["reproduced"] >= 0.8
    power = audit.rates(cb, "power_law", 6, "ci", seed=5)
    corner = audit.rates(cb, "hard_corner", 6, "ci", seed=5)
    for rates in (power, corner):
        assert rates["B1"]["reproduced"] == 0.0 and rates["B1"]["not_reproduced"] >= 0.5
    assert power["B2"]["reproduced"] == 0.0 and power["B2"]["not_reproduced"] >= 0.5
