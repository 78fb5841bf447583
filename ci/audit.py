"""The simulation audit of the book's chapters: can each claim's design come out the other way?

    .venv/bin/python ci/audit.py                                  # every chapter, ci profile, 200 simulations
    .venv/bin/python ci/audit.py --chapters 00_power_laws --sims 1000
    .venv/bin/python ci/audit.py --profile full --sims 200        # the full design (simulated, no GPU needed)
    .venv/bin/python ci/audit.py --json _audit                    # also write _audit/<chapter>.audit.json

For every claim decided on trained models it prints the power (how often the claim comes out
reproduced in the chapter's ``paper`` world), the false-positive rate (how often it comes out
reproduced in its rival world; the worst rival when there are several), how often the rival comes out
*not reproduced*, and the coverage of its 95 % interval in the paper world (``scalinglab.audit``). The
exit code is 1 when a chapter misses the book's bar: a claim decided at the profile reproduced in a
rival world in more than 5 % of the simulations, or its interval covering less than 92 %, or a headline
decided at the profile with power below 80 %.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "ci"))

from scalinglab import audit  # noqa: E402
from scalinglab.claims import PROFILES  # noqa: E402


def audited_chapters() -> list[str]:
    """The chapters of the table of contents whose experiment module declares WORLDS, in reading order."""
    import importlib

    from build_book import chapter_notebooks

    out = []
    for nb in chapter_notebooks():
        try:
            module = importlib.import_module(audit.chapter_module(nb.stem))
        except ModuleNotFoundError:
            continue
        if hasattr(module, "WORLDS"):
            out.append(nb.stem)
    return out


def _pct(x) -> str:
    return "—" if x is None or x != x else f"{100 * x:.1f} %"


def format_report(report: audit.AuditReport) -> str:
    lines = [f"## {report.chapter} (profile {report.profile}, {report.n_sims} simulations per world)", "",
             "| claim | decided | rival world(s) | power | false-positive rate | rival not reproduced | coverage |",
             "|---|---|---|---|---|---|---|"]
    for r in report.rows():
        lines.append(f"| {r['id']}{'★' if r['headline'] else ''} | {'yes' if r['decided'] else 'no'} | "
                     f"{', '.join(r['rivals'])} | {_pct(r['power'])} | {_pct(r['false_positive_rate'])} | "
                     f"{_pct(r['rival_not_reproduced'])} | {_pct(r['coverage'])} |")
    problems = report.problems()
    lines += ["", "Bar met." if not problems else "Bar NOT met:", *[f"- {p}" for p in problems], ""]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chapters", nargs="*", help="chapter slugs (default: every chapter with WORLDS)")
    parser.add_argument("--sims", type=int, default=200, help="simulations per world (default 200)")
    parser.add_argument("--profile", default="ci", choices=PROFILES)
    parser.add_argument("--seed", type=int, default=0, help="seed of the simulations")
    parser.add_argument("--workers", type=int, default=audit.default_workers(), help="processes (default: 2)")
    parser.add_argument("--smoke", action="store_true", help="the profile with its smoke caps (a code-path check)")
    parser.add_argument("--json", default=None, help="folder for <chapter>.audit.json files")
    parser.add_argument("--no-fail", action="store_true", help="exit 0 even when the bar is not met")
    args = parser.parse_args(argv)
    if args.sims < 1:
        parser.error(f"--sims must be a positive integer, got {args.sims}")
    known = audited_chapters()
    chapters = args.chapters or known
    unknown = sorted(set(chapters) - set(known))
    if unknown:
        parser.error(f"--chapters: {unknown} have no audited experiment module; allowed: {', '.join(known)}")
    start = time.perf_counter()
    reports = audit.audit_many([audit.chapter_module(c) for c in chapters], args.sims, args.profile, args.seed,
                               smoke=args.smoke, workers=args.workers)
    failed = []
    for slug, report in zip(chapters, reports):
        report.chapter = slug
        print(format_report(report), flush=True)
        if report.problems():
            failed.append(slug)
        if args.json:
            out = Path(args.json)
            out.mkdir(parents=True, exist_ok=True)
            (out / f"{slug}.audit.json").write_text(json.dumps(report.to_dict(), indent=2))
    print(f"[audit] {len(chapters)} chapter(s), {args.sims} simulations per world, {args.workers} worker(s): "
          f"{time.perf_counter() - start:.0f} s; bar not met: {failed or 'none'}", flush=True)
    return 1 if failed and not args.no_fail else 0


if __name__ == "__main__":
    sys.exit(main())
