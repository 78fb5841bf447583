import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

# Never touch the network in tests, and keep progress bars quiet.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TQDM_MININTERVAL", "60")

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def store_root(tmp_path, monkeypatch):
    root = tmp_path / "runs"
    monkeypatch.setenv("SCALINGLAB_RUN_STORE", str(root))
    return root


@pytest.fixture(scope="session")
def built_book(tmp_path_factory):
    """The whole book executed at the ci profile and built to ``_build/html`` — once per pytest session,
    shared by tests/test_book.py and tests/test_browser.py. Returns ``_book/book_run.json``.

    Set ``SCALINGLAB_BOOK_BUILT=1`` to check an existing build in ``_build/`` and ``_book/`` instead
    (e.g. right after ``bash ci/book.sh``).
    """
    if os.environ.get("SCALINGLAB_BOOK_BUILT") != "1":
        store = tmp_path_factory.mktemp("e2e_runs")
        proc = subprocess.run([sys.executable, str(ROOT / "ci" / "build_book.py"), "--profile", "ci",
                               "--run-store", str(store)], cwd=ROOT)
        assert proc.returncode == 0, "ci/build_book.py failed: see its output above"
    return json.loads((ROOT / "_book" / "book_run.json").read_text())


def make_verdict_record(chapter="00_power_laws", seed=0, outcomes=(("K1", (1.2, 1.6)), ("K2", (0.2, 0.4))),
                        threshold=1.0, headline="K1", failed_precondition=(), revised=(), smoke=False):
    """A ``<chapter>.verdicts.json`` record built with the library's own verdict machinery, so that the
    tests of ``ci/`` follow its schema: one claim per ``(id, (lo, hi))`` in ``outcomes``, each with the
    criterion ``statistic ≥ threshold`` and one precondition (failed for the ids in
    ``failed_precondition``); the ids in ``revised`` carry a revision."""
    from scalinglab.claims import Claim, Measurement, Precondition, Revision, at_least, at_most, evaluate

    claims, measured = [], {}
    for cid, (lo, hi) in outcomes:
        claims.append(Claim(
            id=cid, statement=f"The statement of {cid}, written out in full so that nothing truncates it.",
            source="Paper et al. 2020, Fig. 1", statistic=f"ratio_{cid}", interval="t-interval over 3 seeds",
            criterion=at_least(threshold),
            preconditions=(Precondition("edge_share", "share of best rates on a grid edge", at_most(0.2)),),
            revisions=(Revision("2026-12-01", f"ratio_{cid} ≥ 2", "a fixed margin, decided before the runs"),)
            if cid in revised else (),
            headline=cid == headline))
        measured[cid] = Measurement(estimate=(lo + hi) / 2, interval=(lo, hi), seeds=[seed],
                                    preconditions={"edge_share": 0.5 if cid in failed_precondition else 0.1})
    verdicts = evaluate(claims, measured, "ci", smoke=smoke)
    return {"chapter": chapter, "title": f"Title of {chapter}", "profile": "ci", "seed": seed, "smoke": smoke,
            "verdicts": [v.to_dict() for v in verdicts],
            "provenance": {"commit": "abc1234", "profile": "ci", "seed": seed, "device": "cpu: x86_64, 2 threads",
                           "wall_time_s": 123.4, "started_at": "2026-01-01T00:00:00+00:00",
                           "versions": {"python": "3.11.7", "torch": "2.13.0"}}}


@pytest.fixture
def verdict_record():
    """The factory :func:`make_verdict_record` (synthetic verdict files for the tests of ``ci/``)."""
    return make_verdict_record
