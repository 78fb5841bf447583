"""Whole-book benchmark: execute every chapter at a profile and print wall time per chapter and total.

    .venv/bin/python benchmarks/bench_book.py            # ci profile, fresh run store (nothing cached)

The same numbers are written to the status page by ci/build_book.py. Targets at the ci profile on 2 cores: the
whole book ≤ 12 min; each chapter's training at ≥ 25 % of the one-thread fp32 matmul peak (model FLOPs over the
training steps' seconds, from the work each chapter records in its verdict file), or a stated reason why its
shapes cannot (``benchmarks/bench_chapters.py`` times them); the test command on a fresh clone ≤ 20 min (printed
by ``ci/test.sh`` as its total wall time). This prints whether each target was met; it never asserts.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from scalinglab.claims import PROFILES

ROOT = Path(__file__).resolve().parents[1]
TARGET_TOTAL_S = 12 * 60
TARGET_PEAK_SHARE = 0.25
TARGET_TEST_S = 20 * 60


def peak_share(chapter: str) -> float | None:
    """A chapter's model FLOPs per training second over the one-thread matmul peak its run measured, from
    ``_book/chapters/<chapter>.verdicts.json`` (None where the chapter's run functions do not report both)."""
    path = ROOT / "_book" / "chapters" / f"{chapter}.verdicts.json"
    try:
        work = json.loads(path.read_text())["provenance"]["work"]
    except (OSError, KeyError, json.JSONDecodeError):
        return None
    flops, seconds, peak = work.get("model_flops"), work.get("train_s"), work.get("peak_flops_per_s")
    return flops / seconds / peak if flops and seconds and peak else None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", default="ci", choices=PROFILES)
    parser.add_argument("--keep-store", action="store_true", help="reuse runs/ instead of a fresh store")
    args = parser.parse_args()
    cmd = [sys.executable, str(ROOT / "ci" / "build_book.py"), "--profile", args.profile, "--skip-build",
           "--budget-s", "3600"]
    with tempfile.TemporaryDirectory(prefix="bench_book_runs_") as store:
        if not args.keep_store:
            cmd += ["--run-store", store]
        code = subprocess.run(cmd, cwd=ROOT).returncode
    runner = json.loads((ROOT / "_book" / "book_run.json").read_text())["runner"]
    print(f"\n{'chapter':<28}{'wall time (s)':>14}  ok   training share of peak (target ≥ {TARGET_PEAK_SHARE:.0%})")
    for rec in runner["chapters"]:
        share = peak_share(rec["chapter"])
        shown = "not reported" if share is None else f"{share:.1%} ({'met' if share >= TARGET_PEAK_SHARE else 'MISSED'})"
        print(f"{rec['chapter']:<28}{rec['wall_time_s']:>14.0f}  {'yes' if rec['ok'] else 'NO ':<4} {shown}")
    total = runner["total_wall_time_s"]
    verdict = "met" if total <= TARGET_TOTAL_S else "MISSED"
    print(f"{'total':<28}{total:>14.0f}  target ≤ {TARGET_TOTAL_S} s: {verdict}")
    print(f"the test command's target (≤ {TARGET_TEST_S} s on a fresh clone) is measured by ci/test.sh "
          "(its last line, total wall time)")
    return code


if __name__ == "__main__":
    sys.exit(main())
