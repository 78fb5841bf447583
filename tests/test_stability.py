"""Tests of ``ci/stability.py``: its summary and table on synthetic verdict files (fast), and the tool end
to end on a tiny synthetic notebook at two seeds (marked ``smoke``: it starts kernels, ~30 s)."""

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "ci"))
import stability  # noqa: E402

OK = {"ok": True, "wall_time_s": 100.0, "cpu_time_s": 190.0, "error": ""}


def _summary(verdict_record, by_seed, runs=None):
    records = {"04_critical_batch": {s: verdict_record("04_critical_batch", seed=s, outcomes=o, headline="B1")
                                     if o is not None else None for s, o in by_seed.items()}}
    runs = runs or {"04_critical_batch": {s: dict(OK) for s in by_seed}}
    return stability.summarise(records, runs, profile="ci", seeds=list(by_seed))


def test_identical_verdicts_agree_and_meet_the_target(verdict_record):
    outcomes = [("B1", (1.2, 1.5)), ("B3", (0.1, 0.5))]  # B1 reproduced, B3 not reproduced, at every seed
    s = _summary(verdict_record, {1: outcomes, 2: outcomes, 3: outcomes})
    ch = s["chapters"][0]
    assert [c["agree"] for c in ch["claims"]] == [True, True]
    assert ch["agreement"] == 1.0 and ch["headline"] == ["B1"] and ch["headline_decided_every_seed"]
    assert ch["meets_target"]
    assert ch["claims"][0]["by_seed"]["2"] == {"verdict": "reproduced", "estimate": 1.35, "lo": 1.2, "hi": 1.5,
                                               "reason": ch["claims"][0]["by_seed"]["2"]["reason"]}
    table = stability.format_table(s)
    assert "≠" not in table.split("✔ reproduced,")[0] and "target met" in table
    assert "seed 3 100 s wall / 190 s CPU" in table


def test_a_disagreement_is_marked_and_an_undecided_headline_misses_the_target(verdict_record):
    s = _summary(verdict_record, {1: [("B1", (1.2, 1.5)), ("B3", (0.1, 0.5))],
                                  2: [("B1", (0.9, 1.5)), ("B3", (0.1, 0.5))],  # B1 straddles at seed 2
                                  3: [("B1", (1.2, 1.5)), ("B3", (0.1, 0.5))]})
    ch = s["chapters"][0]
    assert [c["agree"] for c in ch["claims"]] == [False, True]
    assert ch["agreement"] == 0.5 and not ch["headline_decided_every_seed"] and not ch["meets_target"]
    b1 = next(line for line in stability.format_table(s).splitlines() if line.strip().startswith("B1*"))
    assert b1.rstrip().endswith("≠") and "? 1.2 [0.9, 1.5]" in b1
    assert "decided at every seed: NO" in stability.format_table(s)


def test_a_headline_inconclusive_at_every_seed_agrees_but_is_not_decided(verdict_record):
    straddle = [("B1", (0.9, 1.5))]
    ch = _summary(verdict_record, {1: straddle, 2: straddle, 3: straddle})["chapters"][0]
    assert ch["agreement"] == 1.0 and not ch["headline_decided_every_seed"] and not ch["meets_target"]


def test_a_failed_run_counts_as_a_disagreement(verdict_record):
    outcomes = [("B1", (1.2, 1.5))]
    runs = {"04_critical_batch": {1: dict(OK), 2: {"ok": False, "wall_time_s": 5.0, "cpu_time_s": 4.0,
                                                   "error": "Traceback …\nValueError: boom"}}}
    s = _summary(verdict_record, {1: outcomes, 2: None}, runs=runs)
    ch = s["chapters"][0]
    assert ch["claims"][0]["by_seed"].keys() == {"1"} and not ch["claims"][0]["agree"]
    assert not ch["meets_target"]
    table = stability.format_table(s)
    assert "seed 2 failed: ValueError: boom" in table and "—" in table


def test_the_power_target_allows_one_disagreement_in_ten(verdict_record):
    same = [(f"B{i}", (1.2, 1.5)) for i in range(1, 11)]
    flipped = same[:-1] + [("B10", (0.9, 1.5))]
    ch = _summary(verdict_record, {1: same, 2: same, 3: flipped})["chapters"][0]
    assert ch["agreement"] == 0.9 and ch["meets_target"]


TINY_CHAPTER = '''
import json, os
from scalinglab import chapter
from scalinglab.claims import Claim, Measurement, at_least
run = chapter.start("99_tiny", "A tiny chapter", profile, seed, smoke=smoke)
claims = [Claim(id="T1", statement="s", source="src", statistic="x", interval="none", criterion=at_least(1.0),
                headline=True)]
lo = 0.5 if seed == 2 else 1.5  # seed 2 straddles the threshold
run.finish(claims, {"T1": Measurement(estimate=lo + 0.5, interval=(lo, lo + 1.0), seeds=[seed])})
store = os.environ["SCALINGLAB_RUN_STORE"]
assert not os.listdir(store), "the run store is not fresh"
open(os.path.join(store, "touched"), "w").write("the next run must not see this")
'''


@pytest.mark.smoke
def test_stability_runs_each_seed_in_a_fresh_store_and_writes_the_summary(tmp_path, capsys):
    import nbformat

    chapters = tmp_path / "chapters"
    chapters.mkdir()
    params = 'profile = "ci"\nseed = 0\nrefresh = False\nsmoke = False\nscheduler_address = ""'
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(params, metadata={"tags": ["parameters"]}),
                                         nbformat.v4.new_code_cell(TINY_CHAPTER)],
                                  metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                           "language": "python"}})
    nbformat.write(nb, chapters / "99_tiny.ipynb")
    out = tmp_path / "stability"
    code = stability.main(["--chapters", "99_tiny", "--seeds", "1", "2", "--out", str(out),
                           "--chapters-dir", str(chapters), "--timeout-s", "300"])
    assert code == 0
    summary = json.loads((out / "summary.json").read_text())
    ch = summary["chapters"][0]
    assert ch["claims"][0]["by_seed"]["1"]["verdict"] == "reproduced"
    assert ch["claims"][0]["by_seed"]["2"]["verdict"] == "inconclusive at this profile"
    assert not ch["claims"][0]["agree"] and not ch["meets_target"]
    assert all(r["ok"] and r["wall_time_s"] > 0 for r in ch["runs"].values())
    assert (out / "99_tiny" / "seed2" / "99_tiny.verdicts.json").exists()
    printed = capsys.readouterr().out
    assert "T1*" in printed and "≠" in printed
    # --record merges into the committed record: chapters recorded earlier stay, whatever the local summary holds
    record = tmp_path / "stability.json"
    record.write_text(json.dumps({"seeds": [7], "profile": "ci", "chapters": [{"chapter": "98_earlier", "claims": []}]}))
    (out / "summary.json").unlink()
    assert stability.main(["--chapters", "99_tiny", "--seeds", "1", "--out", str(out), "--chapters-dir", str(chapters),
                           "--timeout-s", "300", "--record", "--record-path", str(record)]) == 0
    recorded = json.loads(record.read_text())
    assert [c["chapter"] for c in recorded["chapters"]] == ["98_earlier", "99_tiny"]
    assert recorded["chapters"][0]["seeds"] == [7] and recorded["chapters"][1]["seeds"] == [1]
