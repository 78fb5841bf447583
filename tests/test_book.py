"""End-to-end: execute every chapter, build the HTML book, check the results.

- ``slow``: the whole book at the ci profile. The ``built_book`` fixture (tests/conftest.py, shared with
  tests/test_browser.py) runs ``ci/build_book.py`` once per session with a fresh run store, so every
  number comes from models trained in this run. Set ``SCALINGLAB_BOOK_BUILT=1`` to check an existing
  build in ``_build/`` and ``_book/`` instead (e.g. right after ``bash ci/book.sh``).
- ``smoke``: every chapter at ``-p profile full -p smoke True`` (the GPU profile's code path with tiny
  sizes, on the CPU, in seconds): it must finish and write a verdict for every claim, all inconclusive.
- unmarked: a bad ``-p profile`` fails at once, before anything is trained.
"""

import json
import math
import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from scalinglab.claims import INCONCLUSIVE, VERDICTS

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "ci"))
from build_book import chapter_notebooks, page_notebooks, public_modules  # noqa: E402

CI_CPU_BUDGET_S = 300  # (user + system) / 2 of a chapter at ci: its wall time on a dedicated 2-core machine; the ci profile's 5 minutes
SMOKE_CPU_BUDGET_S = 60  # (user + system) / 2 of one chapter's smoke run: under a minute on two cores


def _papermill(notebook: Path, out_dir: Path, *params: str, timeout: float = 300) -> subprocess.CompletedProcess:
    env = dict(os.environ, SCALINGLAB_RUN_STORE=str(out_dir / "runs"), SCALINGLAB_RESULTS_DIR=str(out_dir))
    return subprocess.run([sys.executable, "-m", "papermill", "-k", "python3", "--cwd", str(notebook.parent),
                           "--no-progress-bar", str(notebook), str(out_dir / "out.ipynb"), *params],
                          capture_output=True, text=True, env=env, timeout=timeout)


def check_verdict_record(v: dict) -> None:
    """One claim's record in a ``<chapter>.verdicts.json``: every field the report card reads."""
    name = v.get("id")
    assert v["verdict"] in VERDICTS, (name, v["verdict"])
    assert v["reason"].strip(), f"{name}: empty reason"
    assert v["statistic"] and v["claim"]["criterion"] and v["claim"]["interval"], name
    assert "estimate" in v and len(v["interval"]) == 2, name
    lo, hi = v["interval"]
    if v["verdict"] != INCONCLUSIVE:  # a decided claim was decided on a measured, finite interval
        assert all(isinstance(x, (int, float)) and math.isfinite(x) for x in (v["estimate"], lo, hi)), name
        assert lo <= hi, name
        assert all(p["held"] for p in v["preconditions"]), f"{name}: decided although a precondition failed"
    for p in v["preconditions"]:
        assert {"name", "description", "requirement", "value", "held"} <= set(p), (name, p)
    # the seeds behind the interval; empty only for a claim computed from published numbers alone
    assert isinstance(v["seeds"], list), f"{name}: no seeds recorded"
    assert v["seeds"] or v["claim"].get("evidence") == "published", \
        f"{name}: no seeds recorded, and the claim is not one computed from published numbers"


@pytest.mark.slow
def test_every_chapter_produced_verdicts(built_book):
    chapters = {p.stem for p in chapter_notebooks()}
    results = {r["chapter"]: r for r in built_book["results"]}
    assert set(results) == chapters
    for name, result in results.items():
        assert result["profile"] == "ci" and not result["smoke"]
        assert result["verdicts"], f"{name} has no verdicts"
        for v in result["verdicts"]:
            check_verdict_record(v)
        assert sum(v["claim"]["headline"] for v in result["verdicts"]) == 1, f"{name}: want one headline claim"


@pytest.mark.slow
def test_every_checked_exercise_passes_its_solution_and_fails_blank_and_wrong_answers(built_book):
    """On the real ci runs: each chapter with Otter checks (``chapters/checks/<chapter>/``) ran every check,
    its reference solution passed, and a blank and a plausible wrong answer failed."""
    checked = sorted(p for p in (ROOT / "chapters" / "checks").iterdir() if p.is_dir())
    assert checked
    for folder in checked:
        record = json.loads((ROOT / "_book" / "chapters" / f"{folder.name}.exercises.json").read_text())
        names = sorted((p.stem for p in folder.glob("ex*.py")), key=lambda n: (len(n), n))
        assert record["checks"] == names and sorted(record["exercises"]) == sorted(names), record
        for name, entry in record["exercises"].items():
            assert entry == {"passed": True, "blank_fails": True, "wrong_fails": True}, (folder.name, name, entry)


@pytest.mark.slow
def test_every_chapter_within_its_budget(built_book):
    for rec in built_book["runner"]["chapters"]:
        assert rec["ok"], rec
        assert rec["wall_time_s"] <= rec["budget_s"], rec
        assert rec["cpu_time_s"] / 2 <= CI_CPU_BUDGET_S, (
            f"{rec['chapter']}: {rec['cpu_time_s']:.0f} s of CPU time = {rec['cpu_time_s'] / 2:.0f} s on two "
            f"cores, over the ci budget of {CI_CPU_BUDGET_S} s")


@pytest.mark.slow
def test_html_pages_exist_with_figures(built_book):
    html = ROOT / "_build" / "html"
    assert (html / "index.html").exists()
    for page in ("report_card.html", "status.html"):
        assert (html / page).exists()
    for nb in chapter_notebooks():
        page = html / "chapters" / f"{nb.stem}.html"
        text = page.read_text()
        assert "<img" in text, f"{page} has no figure"
        assert "Traceback" not in text
    card = (html / "report_card.html").read_text()
    for result in built_book["results"]:
        assert f"{result['chapter']}.forest.png" in card, f"no forest plot of {result['chapter']} on the card"
        for v in result["verdicts"]:
            assert v["claim"]["id"] in card


@pytest.mark.slow
def test_every_trained_claim_carries_its_audit_and_the_bar_is_met(built_book):
    audit = built_book["runner"]["audit"]
    assert audit["ok"], audit.get("error")
    sys.path.insert(0, str(ROOT / "ci"))
    from audit import audited_chapters

    # Every chapter that declares its worlds is audited; a chapter without WORLDS has no audit yet.
    declared = set(audited_chapters())
    assert declared and set(audit["chapters"]) == declared, "every chapter with WORLDS is audited"
    for result in built_book["results"]:
        if result["chapter"] not in declared:
            continue
        for v in result["verdicts"]:
            if v["claim"].get("evidence") == "published":
                assert "audit" not in v, v["id"]
                continue
            a = v["audit"]
            assert set(a["worlds"]) == {"paper", *v["claim"]["rivals"]}, v["id"]
            from scalinglab.audit import sims_in

            assert all(w["n"] == sims_in(name, audit["n_sims"]) for name, w in a["worlds"].items()), v["id"]
            assert 0 <= a["power"] <= 1 and 0 <= a["false_positive_rate"] <= 1, v["id"]
    assert audit["problems"] == {}, audit["problems"]


@pytest.mark.slow
def test_the_library_pages_are_built(built_book):
    html = ROOT / "_build" / "html" / "library"
    for name in public_modules():
        page = (html / "api" / f"{name}.html").read_text()
        assert f"<span class=\"pre\">{name.rsplit('.', 1)[-1]}</span>" in page or name in page, name
    for nb in page_notebooks():
        assert any(r["chapter"] == nb.stem and r["ok"] for r in built_book["runner"]["pages"]), nb.stem
        text = (html / f"{nb.stem}.html").read_text()
        assert "Traceback" not in text and "<table" in text, nb.stem


@pytest.mark.smoke
@pytest.mark.parametrize("notebook", chapter_notebooks(), ids=lambda p: p.stem)
def test_full_profile_code_path_runs_as_a_smoke_test(notebook, tmp_path):
    """``-p profile full -p smoke True`` on the CPU: the code a GPU run takes, with tiny sizes; it must
    finish quickly and write a verdict for every claim, each inconclusive because nothing is decided."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = _papermill(notebook, tmp_path, "-p", "profile", "full", "-p", "smoke", "True")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    assert proc.returncode == 0, proc.stderr[-4000:]
    record = json.loads((tmp_path / f"{notebook.stem}.verdicts.json").read_text())
    assert record["profile"] == "full" and record["smoke"] is True
    assert record["verdicts"]
    for v in record["verdicts"]:
        check_verdict_record(v)
        assert v["verdict"] == INCONCLUSIVE and v["reason"].startswith("smoke run"), (v["id"], v["reason"])
    assert cpu / 2 <= SMOKE_CPU_BUDGET_S, (f"{notebook.stem}: the smoke run used {cpu:.0f} s of CPU time, "
                                           f"{cpu / 2:.0f} s on two cores (aim: under {SMOKE_CPU_BUDGET_S} s)")


@pytest.mark.parametrize("notebook", chapter_notebooks(), ids=lambda p: p.stem)
def test_bad_profile_fails_before_training(notebook, tmp_path):
    """`-p profile bogus` must fail at once, naming the parameter and the allowed values."""
    proc = _papermill(notebook, tmp_path, "-p", "profile", "bogus")
    assert proc.returncode != 0
    assert "parameter 'profile' must be one of 'ci', 'full'; got 'bogus'" in proc.stdout + proc.stderr
    assert not (tmp_path / "runs").exists(), "nothing may be trained before the parameters are checked"
