"""Whole-book benchmark: execute every chapter at a profile and print wall time per chapter and total.

    .venv/bin/python benchmarks/bench_book.py            # ci profile, fresh run store (nothing cached)

The same numbers are written to the status page by ci/build_book.py. Target: total ≤ 25 min on 2 cores at the ci profile. This prints whether the target was met; it never asserts.
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
TARGET_TOTAL_S = 25 * 60


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
    print(f"\n{'chapter':<28}{'wall time (s)':>14}  ok")
    for rec in runner["chapters"]:
        print(f"{rec['chapter']:<28}{rec['wall_time_s']:>14.0f}  {'yes' if rec['ok'] else 'NO'}")
    total = runner["total_wall_time_s"]
    verdict = "met" if total <= TARGET_TOTAL_S else "MISSED"
    print(f"{'total':<28}{total:>14.0f}  target ≤ {TARGET_TOTAL_S} s: {verdict}")
    return code


if __name__ == "__main__":
    sys.exit(main())
