"""Checked exercises: each chapter's exercises with Otter-Grader tests a reader's answer must pass.

An exercise asks for a value the chapter's own run can give in minutes (a number read off the page's
data, a refitted exponent, the verdict of a changed criterion …) and names the variable that holds the
answer, ``ex1``, ``ex2``, … The tests live beside the chapters, one Otter-Grader test file per exercise
(``chapters/checks/<chapter>/ex1.py``, Otter's "OK" format: doctests that may use the chapter's own
variables, so an answer is checked against *this run's* numbers, never a typed one).

In the notebook::

    grader = exercises.Grader("00_power_laws")
    ex1 = ...                      # the reader's answer (the teacher's notebook holds the solution)
    grader.check("ex1", globals(), wrong=...)

:meth:`Grader.check` runs the test on the reader's answer and shows Otter's result. It also shows that
the test can fail: it re-runs it with the answer left blank (``...``) and, when the chapter gives one, with
a plausible wrong answer (``wrong=``), and records the three outcomes in ``<chapter>.exercises.json``
beside the verdict file. The book is built from the teacher's notebooks, so the build checks that every
reference solution passes and every blank and wrong answer fails (``tests/test_book.py``). The course
bundle's student notebooks (``ci/course_bundle.py``) have the solutions replaced by ``...``.

Used by: every chapter's exercises, and ``ci/course_bundle.py``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

#: Where the tests are: ``chapters/checks/<chapter>/`` of the book (or of the course bundle).
CHECKS = Path(__file__).resolve().parents[2] / "chapters" / "checks"
BLANK = ...


class Grader:
    """The Otter-Grader tests of one chapter's exercises, with a record of what each check showed."""

    def __init__(self, chapter: str, tests_dir: str | Path | None = None):
        import otter

        self.chapter = chapter
        self.tests_dir = Path(tests_dir) if tests_dir is not None else CHECKS / chapter
        if not self.tests_dir.is_dir():
            raise FileNotFoundError(f"no exercise checks for {chapter!r} in {self.tests_dir}")
        self._otter = otter.Notebook(tests_dir=str(self.tests_dir))
        self.record: dict[str, dict] = {}

    def names(self) -> list[str]:
        """The exercises that have a test, in order (``ex1``, ``ex2``, …)."""
        return sorted((p.stem for p in self.tests_dir.glob("ex*.py")), key=lambda n: (len(n), n))

    def _grade(self, name: str, env: dict) -> bool:
        return bool(self._otter.check(name, global_env=env).grade == 1)

    def check(self, name: str, env: dict, *, wrong=BLANK):
        """Run exercise ``name``'s test on ``env[name]`` (the reader's answer) and return Otter's result
        (shown by the notebook). Also run it with the answer blank and, if given, ``wrong``, and record
        ``{passed, blank_fails, wrong_fails}`` in ``<chapter>.exercises.json``."""
        if name not in self.names():
            raise KeyError(f"{self.chapter}: no check {name!r}; the checks are {', '.join(self.names())}")
        if name not in env:
            raise NameError(f"assign your answer to {name!r} before checking it (e.g. {name} = 0.5)")
        result = self._otter.check(name, global_env=env)
        entry = {"passed": bool(result.grade == 1), "blank_fails": not self._grade(name, {**env, name: BLANK})}
        if wrong is not BLANK:
            entry["wrong_fails"] = not self._grade(name, {**env, name: wrong})
        self.record[name] = entry
        self._write()
        return result

    def _write(self) -> None:
        folder = Path(os.environ.get("SCALINGLAB_RESULTS_DIR", "."))
        path = folder / f"{self.chapter}.exercises.json"
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps({"chapter": self.chapter, "checks": self.names(), "exercises": self.record},
                                       indent=2))
        except OSError:  # a read-only folder: the record is a convenience for the build, not the check itself
            pass
