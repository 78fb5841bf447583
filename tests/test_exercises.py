"""Checked exercises: the Otter-Grader wrapper passes a right answer, fails a blank and a wrong one, and
records all three; the student notebooks of the course bundle hold no solutions."""

import json
import sys
from pathlib import Path

import pytest

from scalinglab import exercises

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "ci"))

OK_TEST = '''OK_FORMAT = True
test = {"name": "ex1", "points": 1, "suites": [{"cases": [
    {"code": ">>> bool(abs(ex1 - 2 * page_value) < 1e-9)\\nTrue", "hidden": False, "locked": False}],
    "scored": True, "setup": "", "teardown": "", "type": "doctest"}]}
'''


@pytest.fixture
def grader(tmp_path, monkeypatch):
    checks = tmp_path / "checks" / "99_toy"
    checks.mkdir(parents=True)
    (checks / "ex1.py").write_text(OK_TEST)
    monkeypatch.setenv("SCALINGLAB_RESULTS_DIR", str(tmp_path / "out"))
    monkeypatch.chdir(tmp_path)  # Otter writes its log in the working directory
    return exercises.Grader("99_toy", tests_dir=checks)


def test_a_right_answer_passes_and_blank_and_wrong_answers_fail(grader, tmp_path):
    env = {"page_value": 1.5, "ex1": 3.0}
    result = grader.check("ex1", env, wrong=1.5)
    assert result.grade == 1
    record = json.loads((tmp_path / "out" / "99_toy.exercises.json").read_text())
    assert record["exercises"]["ex1"] == {"passed": True, "blank_fails": True, "wrong_fails": True}
    assert record["checks"] == ["ex1"]
    assert grader.check("ex1", {"page_value": 1.5, "ex1": ...}).grade == 0
    assert grader.record["ex1"]["passed"] is False


def test_a_missing_answer_or_check_is_named(grader):
    with pytest.raises(NameError, match="assign your answer to 'ex1'"):
        grader.check("ex1", {"page_value": 1.0})
    with pytest.raises(KeyError, match="no check 'ex7'"):
        grader.check("ex7", {"ex7": 1})
    with pytest.raises(FileNotFoundError, match="no exercise checks"):
        exercises.Grader("nowhere", tests_dir=Path("/nonexistent"))
