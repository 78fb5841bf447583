"""The learning-rate schedules, their checks, the annealing areas and the annealing law's fit (scalinglab.schedules)."""

import math

import numpy as np
import pytest

from scalinglab import schedules as sc
from scalinglab.train import TrainConfig, learning_rate

SQRT_HALF = math.sqrt(0.5)


# --- rate / multiplier / rates -------------------------------------------------------------------------

def test_warmup_is_linear_for_every_schedule():
    # peak·(s + 1)/w over the first w steps, whatever comes after
    for schedule in sc.SCHEDULES:
        for s in range(10):
            assert sc.rate(s, 100, 0.5, schedule, warmup_steps=10) == pytest.approx(0.5 * (s + 1) / 10)
        assert sc.multiplier(3, 100, schedule, warmup_steps=8) == pytest.approx(4 / 8)


def test_cosine_starts_at_the_peak_after_warmup_and_ends_at_the_floor():
    # progress (s − w)/(steps − w): 0 right after warm-up, 1/2 half-way through the decay, 1 at s = steps
    # (one past the last 0-based step, as the formula has always been: see the bit-for-bit test below)
    assert sc.rate(10, 100, 2.0, "cosine", warmup_steps=10, min_lr_ratio=0.1) == pytest.approx(2.0)
    assert sc.rate(55, 100, 2.0, "cosine", warmup_steps=10, min_lr_ratio=0.1) == pytest.approx(0.2 + 0.9 * 2.0 * 0.5)
    assert sc.rate(100, 100, 2.0, "cosine", warmup_steps=10, min_lr_ratio=0.1) == pytest.approx(0.2)
    last = sc.rate(99, 100, 2.0, "cosine", warmup_steps=10, min_lr_ratio=0.1)
    assert 0.2 < last < 0.2 + 1e-3  # the last trained step is a hair above the floor: 0.2 + 0.9·(1 + cos(89π/90))
    assert last == pytest.approx(0.2 + 0.9 * (1 + math.cos(math.pi * 89 / 90)))
    assert sc.rate(0, 50, 1.0, "cosine", min_lr_ratio=0.0) == pytest.approx(1.0)  # no warm-up: the peak at step 0
    assert sc.rate(50, 50, 1.0, "cosine", min_lr_ratio=0.0) == pytest.approx(0.0, abs=1e-15)
    assert sc.rate(500, 50, 1.0, "cosine", min_lr_ratio=0.3) == pytest.approx(0.3)  # clamped past the end


def test_constant_is_the_peak_after_warmup():
    assert [sc.rate(s, 20, 0.3, "constant") for s in range(20)] == [0.3] * 20
    assert sc.rate(19, 20, 0.3, "constant", warmup_steps=5, min_lr_ratio=0.5) == 0.3


def test_wsd_is_stable_then_cools_down_in_three_shapes():
    # steps = 100, fraction 0.2: the cooldown is steps 80 … 99 (exactly 20 of them), x = (s − 80)/20
    assert sc.cooldown_start(100, 0.2) == 80
    expected = {  # x = 0.25, 0.5, 0.75 at s = 85, 90, 95
        "linear": {85: 0.75, 90: 0.5, 95: 0.25},
        "sqrt": {85: 0.5, 90: 1 - SQRT_HALF, 95: 1 - math.sqrt(0.75)},
        "cosine": {85: (1 + SQRT_HALF) / 2, 90: 0.5, 95: (1 - SQRT_HALF) / 2},
    }
    for shape, values in expected.items():
        lr = [sc.rate(s, 100, 0.4, "wsd", warmup_steps=10, cooldown_fraction=0.2, cooldown_shape=shape)
              for s in range(100)]
        assert lr[10:81] == [0.4] * 71  # exactly the peak up to and including the cooldown's first step
        assert all(v < 0.4 for v in lr[81:])  # the cooldown, steps 80 … 99: x = k/20 for k = 0 … 19
        assert lr[80:] == pytest.approx([0.4 * sc.cooldown_multiplier(k / 20, shape) for k in range(20)])
        for s, m in values.items():
            assert lr[s] == pytest.approx(0.4 * m), (shape, s)
        assert lr[99] == pytest.approx(0.4 * sc.cooldown_multiplier(19 / 20, shape)) and lr[99] > 0
        assert all(a >= b for a, b in zip(lr[10:], lr[11:])), shape  # non-increasing after warm-up
    assert sc.cooldown_multiplier(0.0, "sqrt") == 1.0 and sc.cooldown_multiplier(1.0, "sqrt") == 0.0
    assert sc.cooldown_multiplier(1.7, "linear") == 0.0 and sc.cooldown_multiplier(-1.0, "cosine") == 1.0
    with pytest.raises(ValueError, match="shape"):
        sc.cooldown_multiplier(0.5, "cubic")


def test_wsd_cooldown_never_starts_inside_the_warmup():
    # steps 10, fraction 0.5: the cooldown would start at 5, but the warm-up lasts 8 steps: it starts at 8
    lr = [sc.rate(s, 10, 1.0, "wsd", warmup_steps=8, cooldown_fraction=0.5, cooldown_shape="linear")
          for s in range(10)]
    assert lr[:8] == pytest.approx([(s + 1) / 8 for s in range(8)])
    assert lr[8:] == pytest.approx([1.0, 0.5])  # x = 0, 1/2 over the 2 steps left


def test_sqrt_cooldown_has_less_area_than_the_linear_one():
    # ∫(1 − √x) dx = 1/3 against ∫(1 − x) dx = 1/2: over n cooldown steps, about n/3 and n/2 peak-steps
    n = 100
    sqrt = sc.rates(500, 1.0, "wsd", cooldown_fraction=0.2, cooldown_shape="sqrt")[-n:]
    linear = sc.rates(500, 1.0, "wsd", cooldown_fraction=0.2, cooldown_shape="linear")[-n:]
    assert sqrt.sum() < linear.sum()
    assert sqrt.sum() / n == pytest.approx(1 / 3, abs=0.01)
    assert linear.sum() / n == pytest.approx(0.5, abs=0.01)  # exactly (n + 1)/(2n)
    assert linear.sum() == pytest.approx((n + 1) / 2)


def test_step_schedule_multiplies_by_the_factor_at_each_milestone():
    # milestones at 0.5 and 0.75 of 100 steps: peak up to 49, peak·f on 50 … 74, peak·f² from 75
    f = 0.1 ** 0.5
    lr = sc.rates(100, 0.2, "step", step_milestones=(0.5, 0.75), step_factor=f)
    assert lr[:50].tolist() == [0.2] * 50
    assert lr[50:75] == pytest.approx([0.2 * f] * 25)
    assert lr[75:] == pytest.approx([0.2 * f * f] * 25)
    assert lr[-1] == pytest.approx(0.02)  # (√0.1)² = a tenth
    three = sc.rates(40, 1.0, "step", warmup_steps=4, step_milestones=(0.25, 0.5, 0.9), step_factor=0.5)
    assert three[:4] == pytest.approx([0.25, 0.5, 0.75, 1.0])
    assert three[[9, 10, 19, 20, 35, 36]] == pytest.approx([1.0, 0.5, 0.5, 0.25, 0.25, 0.125])


def test_rates_is_rate_at_every_step_and_multiplier_is_rate_at_peak_one():
    kwargs = dict(warmup_steps=7, min_lr_ratio=0.2, cooldown_fraction=0.3, cooldown_shape="cosine",
                  step_milestones=(0.4,), step_factor=0.3)
    for schedule in sc.SCHEDULES:
        lr = sc.rates(53, 0.05, schedule, **kwargs)
        assert lr.shape == (53,) and lr.dtype == float
        assert lr.tolist() == [sc.rate(s, 53, 0.05, schedule, **kwargs) for s in range(53)]
        assert [sc.multiplier(s, 53, schedule, **kwargs) for s in range(53)] == \
            [sc.rate(s, 53, 1.0, schedule, **kwargs) for s in range(53)]
    with pytest.raises(ValueError, match="schedule"):
        sc.rate(3, 10, 1.0, "linear")


def _old_cosine(step, steps, peak, warmup_steps, min_lr_ratio):
    """scalinglab.train.learning_rate before the schedules module, verbatim."""
    if warmup_steps and step < warmup_steps:
        return peak * (step + 1) / warmup_steps
    decay_steps = max(1, steps - warmup_steps)
    progress = min(1.0, (step - warmup_steps) / decay_steps)
    floor = min_lr_ratio * peak
    return floor + 0.5 * (peak - floor) * (1.0 + math.cos(math.pi * progress))


@pytest.mark.parametrize("steps,peak,warmup,ratio", [(100, 1.0, 10, 0.1), (37, 3e-3, 0, 0.1), (500, 1e-2, 50, 0.0),
                                                     (8, 0.7, 8, 0.25), (1, 5e-4, 0, 0.1)])
def test_cosine_is_the_old_formula_bit_for_bit(steps, peak, warmup, ratio):
    # every earlier chapter's runs (and their run-store keys' results) depend on this exact arithmetic
    old = [_old_cosine(s, steps, peak, warmup, ratio) for s in range(steps + 1)]
    assert [sc.rate(s, steps, peak, "cosine", warmup_steps=warmup, min_lr_ratio=ratio) for s in range(steps + 1)] == old
    cfg = TrainConfig(steps=steps, batch_size=1, lr=peak, warmup_steps=warmup, min_lr_ratio=ratio)
    assert [learning_rate(s, cfg) for s in range(steps + 1)] == old


# --- check_schedule ------------------------------------------------------------------------------------

def test_check_schedule_accepts_the_defaults_and_every_schedule():
    for schedule in sc.SCHEDULES:
        sc.check_schedule(schedule)
    for shape in sc.COOLDOWN_SHAPES:
        sc.check_schedule("wsd", cooldown_shape=shape, cooldown_fraction=1.0, min_lr_ratio=0.0, step_factor=1.0)


@pytest.mark.parametrize("kwargs,name", [
    (dict(schedule="linear"), "schedule"),
    (dict(cooldown_shape="cubic"), "cooldown_shape"),
    (dict(cooldown_fraction=0.0), "cooldown_fraction"),
    (dict(cooldown_fraction=1.5), "cooldown_fraction"),
    (dict(min_lr_ratio=-0.1), "min_lr_ratio"),
    (dict(min_lr_ratio=1.5), "min_lr_ratio"),
    (dict(step_milestones=(0.75, 0.5)), "step_milestones"),
    (dict(step_milestones=(0.5, 0.5)), "step_milestones"),
    (dict(step_milestones=(0.5, 1.0)), "step_milestones"),
    (dict(step_milestones=(0.0, 0.5)), "step_milestones"),
    (dict(step_milestones=(-0.2,)), "step_milestones"),
    (dict(step_factor=0.0), "step_factor"),
    (dict(step_factor=1.5), "step_factor"),
])
def test_check_schedule_names_the_bad_setting(kwargs, name):
    kwargs = dict(kwargs)
    schedule = kwargs.pop("schedule", "wsd")
    with pytest.raises(ValueError, match=rf"schedule\.{name} must"):
        sc.check_schedule(schedule, **kwargs)
    with pytest.raises(ValueError, match=rf"Owner\.{name}"):
        sc.check_schedule(schedule, owner="Owner", **kwargs)


# --- annealing_areas -----------------------------------------------------------------------------------

def test_annealing_areas_by_hand():
    # η = [1, 1, 0.5, 0.25]: S1 = cumsum = [1, 2, 2.5, 2.75]; the decreases are d = [0, 0, 0.5, 0.25].
    # λ = 0:   m = d = [0, 0, 0.5, 0.25]                          → S2 = [0, 0, 0.5, 0.75] (= η_0 − η_s)
    # λ = 0.5: m_0 = 0, m_1 = 0.5·0 + 0 = 0, m_2 = 0.5·0 + 0.5 = 0.5,
    #          m_3 = 0.5·0.5 + 0.25 = 0.5                          → S2 = [0, 0, 0.5, 1.0]
    lr = [1.0, 1.0, 0.5, 0.25]
    s1, s2 = sc.annealing_areas(lr, 0.0)
    assert s1.tolist() == [1.0, 2.0, 2.5, 2.75]
    assert s2.tolist() == [0.0, 0.0, 0.5, 0.75]
    s1, s2 = sc.annealing_areas(lr, 0.5)
    assert s1.tolist() == [1.0, 2.0, 2.5, 2.75]
    assert s2.tolist() == [0.0, 0.0, 0.5, 1.0]
    # λ → 1: m_i → the total fall so far (η_0 − η_i), S2 → Σ (η_0 − η_i) = 0 + 0 + 0.5 + 0.75 = 1.25
    assert sc.annealing_areas(lr, 0.999999)[1][-1] == pytest.approx(1.25, abs=1e-5)


def test_annealing_areas_of_constant_and_warmup():
    s1, s2 = sc.annealing_areas([0.3] * 6, 0.9)
    assert s1 == pytest.approx([0.3 * k for k in range(1, 7)]) and s2.tolist() == [0.0] * 6
    # warm-up increases are not annealing: [0.5, 1, 1, 0.5] decreases only at the last step, by 0.5
    s1, s2 = sc.annealing_areas([0.5, 1.0, 1.0, 0.5], 0.5)
    assert s1.tolist() == [0.5, 1.5, 2.5, 3.0] and s2.tolist() == [0.0, 0.0, 0.0, 0.5]
    s1, s2 = sc.annealing_areas([2.0], 0.9)  # one step: nothing has fallen yet
    assert s1.tolist() == [2.0] and s2.tolist() == [0.0]


def test_annealing_areas_rejects_bad_input():
    with pytest.raises(ValueError, match="lr"):
        sc.annealing_areas([])
    with pytest.raises(ValueError, match="lr"):
        sc.annealing_areas([[1.0, 0.5], [0.5, 0.25]])
    with pytest.raises(ValueError, match="decay"):
        sc.annealing_areas([1.0, 0.5], 1.0)
    with pytest.raises(ValueError, match="decay"):
        sc.annealing_areas([1.0, 0.5], -0.1)


# --- fit_annealing_law ---------------------------------------------------------------------------------

KW = dict(warmup_steps=20)
COSINE = sc.rates(400, 0.01, "cosine", **KW)
WSD = sc.rates(400, 0.01, "wsd", **KW)
LINEAR = sc.rates(400, 0.01, "wsd", cooldown_shape="linear", **KW)
STEP = sc.rates(400, 0.01, "step", **KW)
STEPS = np.arange(40, 401, 10)
ALPHA = sc.ALPHAS[35]  # ≈ 0.39, on the fit's grid, as λ = 0.9 is on DECAYS


def _law(form="annealing", L0=1.5, A=2.0, alpha=ALPHA, C=5.0, decay=0.9):
    return sc.AnnealingFit(form, L0, A, alpha, C, decay, 0.0, 0)


def test_annealing_fit_recovers_a_noise_free_law_and_predicts_other_schedules():
    assert 0.9 in sc.DECAYS
    true = _law()
    curves = [(lr, STEPS, true.predict(lr, STEPS)) for lr in (COSINE, WSD)]
    fit = sc.fit_annealing_law(curves)
    assert fit.form == "annealing" and fit.n_points == 2 * len(STEPS)
    assert fit.alpha == ALPHA and fit.decay == 0.9
    assert fit.L0 == pytest.approx(1.5, rel=1e-6) and fit.A == pytest.approx(2.0, rel=1e-6)
    assert fit.C == pytest.approx(5.0, rel=1e-6) and fit.sse == pytest.approx(0.0, abs=1e-9)
    for lr in (LINEAR, STEP):
        assert abs(fit.predict(lr, [400])[0] - true.predict(lr, [400])[0]) < 1e-3
    # predict: by hand at the end of the WSD run, L0 + A·S1^(−α) − C·S2 with S1 = 380·0.01 + Σ warm-up rates
    s1, s2 = sc.annealing_areas(WSD, 0.9)
    assert s1[-1] == pytest.approx(0.01 * (sum(range(1, 21)) / 20 + 380 - 80 + WSD[320:].sum() / 0.01))
    assert true.predict(WSD, [400])[0] == pytest.approx(1.5 + 2.0 * s1[-1] ** -ALPHA - 5.0 * s2[-1])


def test_area_form_recovers_alpha_when_there_is_no_annealing_term():
    true = _law(C=0.0)
    curves = [(lr, STEPS, true.predict(lr, STEPS)) for lr in (COSINE, WSD)]
    fit = sc.fit_annealing_law(curves, "area")
    assert fit.form == "area" and fit.C == 0.0 and math.isnan(fit.decay)
    assert fit.alpha == ALPHA and fit.L0 == pytest.approx(1.5, rel=1e-6) and fit.A == pytest.approx(2.0, rel=1e-6)
    assert fit.predict(STEP, [400])[0] == pytest.approx(true.predict(STEP, [400])[0], abs=1e-9)


def test_steps_form_fits_losses_that_depend_on_the_step_count_only():
    alpha = sc.ALPHAS[30]
    loss = 1.2 + 3.0 * STEPS.astype(float) ** -alpha  # the same curve whatever the schedule
    fit = sc.fit_annealing_law([(COSINE, STEPS, loss), (WSD, STEPS, loss)], "steps")
    assert fit.form == "steps" and fit.C == 0.0 and math.isnan(fit.decay)
    assert fit.alpha == alpha and fit.L0 == pytest.approx(1.2, rel=1e-6) and fit.A == pytest.approx(3.0, rel=1e-6)
    assert fit.predict(STEP, [100, 400]) == pytest.approx(1.2 + 3.0 * np.array([100.0, 400.0]) ** -alpha)


def test_fitted_coefficients_are_never_negative():
    # losses that rise after the cooldown want C < 0; a loss that rises with the area wants A < 0
    rising = _law(C=-5.0)
    curves = [(lr, STEPS, rising.predict(lr, STEPS)) for lr in (COSINE, WSD)]
    fit = sc.fit_annealing_law(curves)
    assert fit.C >= 0 and fit.A >= 0 and fit.sse > 0
    growing = _law(A=-2.0)
    curves = [(lr, STEPS, growing.predict(lr, STEPS)) for lr in (COSINE, WSD)]
    for form in ("annealing", "area", "steps"):
        fit = sc.fit_annealing_law(curves, form)
        assert fit.C >= 0 and fit.A >= 0, form


def test_fit_annealing_law_rejects_bad_input():
    curve = (WSD, STEPS, _law().predict(WSD, STEPS))
    with pytest.raises(ValueError, match="form"):
        sc.fit_annealing_law([curve], "power")
    with pytest.raises(ValueError, match="at least one curve"):
        sc.fit_annealing_law([])
    with pytest.raises(ValueError, match="step"):
        sc.fit_annealing_law([(WSD, np.array([0, 10]), np.array([2.0, 1.9]))])
    with pytest.raises(ValueError, match="step"):
        sc.fit_annealing_law([(WSD, np.array([10, 401]), np.array([2.0, 1.9]))])
