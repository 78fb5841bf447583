"""The verdict rule: three-way decisions on intervals, preconditions, profiles, smoke runs, records."""

import json

import pytest

from scalinglab import chapter
from scalinglab.claims import (INCONCLUSIVE, NOT_REPRODUCED, REPRODUCED, Claim, Measurement, Precondition,
                               Revision, at_least, at_most, between, claims_table, evaluate, judge)
from scalinglab.params import (ParameterError, check_bool, check_choice, check_int, check_number,
                               check_scheduler_address, select_profile)


def _claim(decided_by=("ci", "full"), preconditions=(), criterion=at_least(3.0), revisions=()):
    return Claim(id="X1", statement="s", source="paper, Fig. 1", statistic="ratio",
                 interval="bootstrap over seeds", criterion=criterion, preconditions=preconditions,
                 decided_by=decided_by, revisions=revisions)


def _m(estimate, lo, hi, **pre):
    return Measurement(estimate=estimate, interval=(lo, hi), seeds=[1, 2, 3], preconditions=pre)


@pytest.mark.parametrize("criterion, interval, expected", [
    (at_least(3.0), (3.1, 5.0), True), (at_least(3.0), (1.0, 2.9), False), (at_least(3.0), (2.0, 4.0), None),
    (at_most(0.1), (0.0, 0.05), True), (at_most(0.1), (0.2, 0.3), False), (at_most(0.1), (0.05, 0.2), None),
    (between(0.4, 0.6), (0.45, 0.55), True), (between(0.4, 0.6), (0.7, 0.8), False),
    (between(0.4, 0.6), (0.1, 0.3), False), (between(0.4, 0.6), (0.3, 0.5), None),
    (between(0.4, 0.6), (0.3, 0.7), None),
])
def test_criterion_decides_on_the_whole_interval(criterion, interval, expected):
    assert criterion.decide(*interval) is expected


def test_three_way_verdict_and_reasons():
    c = _claim()
    inside = judge(c, _m(4.0, 3.5, 4.5), "ci")
    assert inside.verdict == REPRODUCED and "whole interval satisfies" in inside.reason
    outside = judge(c, _m(2.0, 1.5, 2.5), "ci")
    assert outside.verdict == NOT_REPRODUCED and "fails" in outside.reason
    straddle = judge(c, _m(3.2, 2.0, 4.5), "ci")
    assert straddle.verdict == INCONCLUSIVE and straddle.reason.startswith("underpowered")
    assert "[2, 4.5]" in straddle.reason and "3" in straddle.reason


def test_a_point_estimate_alone_never_decides():
    # the estimate is far above the threshold, but the interval reaches below it
    assert judge(_claim(), _m(10.0, 2.9, 20.0), "ci").verdict == INCONCLUSIVE


def test_failed_precondition_makes_the_verdict_inconclusive_and_names_it():
    pre = (Precondition("edge_share", "share of best learning rates on a grid edge", at_most(0.2)),)
    c = _claim(preconditions=pre)
    ok = judge(c, _m(4.0, 3.5, 4.5, edge_share=0.1), "ci")
    assert ok.verdict == REPRODUCED and ok.preconditions[0]["held"] is True
    bad = judge(c, _m(4.0, 3.5, 4.5, edge_share=0.97), "ci")
    assert bad.verdict == INCONCLUSIVE and "precondition failed" in bad.reason
    assert "share of best learning rates on a grid edge is 0.97" in bad.reason
    assert bad.preconditions[0]["held"] is False and bad.preconditions[0]["value"] == 0.97
    with pytest.raises(KeyError, match="edge_share"):
        judge(c, _m(4.0, 3.5, 4.5), "ci")  # a precondition must be measured


def test_profile_smoke_and_nan():
    full_only = _claim(decided_by=("full",))
    v = judge(full_only, _m(4.0, 3.5, 4.5), "ci")
    assert v.verdict == INCONCLUSIVE and "full" in v.reason
    assert judge(full_only, _m(4.0, 3.5, 4.5), "full").verdict == REPRODUCED
    smoke = judge(_claim(), _m(4.0, 3.5, 4.5), "full", smoke=True)
    assert smoke.verdict == INCONCLUSIVE and "smoke" in smoke.reason
    nan = judge(_claim(), _m(float("nan"), float("nan"), float("nan")), "ci")
    assert nan.verdict == INCONCLUSIVE and "could not be measured" in nan.reason
    json.dumps(nan.to_dict(), allow_nan=False)


def test_record_holds_what_the_report_card_needs():
    rev = (Revision(date="2026-12-01", previous="ratio ≥ 2", reason="the old threshold was within noise"),)
    pre = (Precondition("crossing", "highest exact match", at_least(0.5)),)
    v = judge(_claim(preconditions=pre, revisions=rev), _m(4.0, 3.5, 4.5, crossing=0.8), "ci").to_dict()
    for key in ("id", "statistic", "estimate", "interval", "thresholds", "preconditions", "verdict", "reason",
                "seeds", "revised"):
        assert key in v
    assert v["revised"] is True and v["claim"]["revisions"][0]["previous"] == "ratio ≥ 2"
    assert v["thresholds"] == [3.0] and v["seeds"] == [1, 2, 3]
    table = claims_table([_claim(preconditions=pre, revisions=rev)])
    assert "highest exact match ≥ 0.5" in table.loc["X1", "preconditions"]
    assert "ratio ≥ 2" in table.loc["X1", "revised"]


def test_evaluate_requires_all_measurements_and_unique_ids():
    with pytest.raises(KeyError, match="X1"):
        evaluate([_claim()], {}, "ci")
    with pytest.raises(ValueError, match="unique"):
        evaluate([_claim(), _claim()], {"X1": _m(4, 3.5, 4.5)}, "ci")
    with pytest.raises(KeyError, match="Y9"):
        evaluate([_claim()], {"X1": _m(4, 3.5, 4.5), "Y9": _m(1, 0, 2)}, "ci")
    with pytest.raises(ValueError, match="unknown profiles"):
        _claim(decided_by=("gpu",))


def test_chapter_finish_writes_verdict_file(tmp_path, monkeypatch):
    monkeypatch.setenv("SCALINGLAB_RESULTS_DIR", str(tmp_path))
    run = chapter.start("99_test", "Test", "ci", 0)
    table = run.finish([_claim()], {"X1": _m(4.0, 3.5, 4.5)})
    record = json.loads((tmp_path / "99_test.verdicts.json").read_text())
    assert record["verdicts"][0]["verdict"] == REPRODUCED
    assert record["verdicts"][0]["interval"] == [3.5, 4.5]
    assert record["provenance"]["profile"] == "ci" and record["smoke"] is False
    assert "torch" in record["provenance"]["versions"]
    assert table.loc["X1", "verdict"].endswith(REPRODUCED)


def test_parameter_errors_name_the_parameter_and_allowed_values():
    with pytest.raises(ParameterError, match=r"parameter 'profile' must be one of 'ci', 'full'; got 'bogus'"):
        select_profile("bogus", {"ci": {}, "full": {}})
    with pytest.raises(ParameterError, match=r"'seed' must be an integer in \[0, 10\]"):
        check_int("seed", 11, 0, 10)
    with pytest.raises(ParameterError, match="'seed' must be an integer"):
        check_int("seed", 1.5)
    with pytest.raises(ParameterError, match="'lr'"):
        check_number("lr", "fast")
    with pytest.raises(ParameterError, match="'mode'"):
        check_choice("mode", "x", ["a", "b"])
    with pytest.raises(ParameterError, match="'smoke' must be True or False"):
        check_bool("smoke", "yes")
    with pytest.raises(ParameterError, match="'scheduler_address'"):
        check_scheduler_address("localhost")
    check_scheduler_address("")
    check_scheduler_address("tcp://127.0.0.1:8786")
    with pytest.raises(ValueError, match="exactly"):
        select_profile("ci", {"ci": {"a": 1}})
    assert select_profile("ci", {"ci": {"a": 1}, "full": {"a": 2}}) == {"a": 1}
    assert select_profile("full", {"ci": {"a": 1}, "full": {"a": 2}}, smoke=True, smoke_overrides={"a": 0}) == {"a": 0}
    with pytest.raises(ValueError, match="lacks"):
        select_profile("full", {"ci": {"a": 1}, "full": {"a": 2}}, smoke=True, smoke_overrides={"b": 0})


def test_glue_turns_numpy_scalars_into_plain_numbers(monkeypatch):
    import numpy as np
    import myst_nb

    seen = {}
    monkeypatch.setattr(myst_nb, "glue", lambda name, value, display=False: seen.__setitem__(name, value))
    chapter.glue("a", np.float64(1.5))
    chapter.glue("b", np.int64(3))
    chapter.glue("c", "reproduced")
    assert repr(seen["a"]) == "1.5" and repr(seen["b"]) == "3"
    assert repr(seen["c"]) == "reproduced"  # strings are glued without quotes
