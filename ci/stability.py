"""How stable are the verdicts? Run chosen chapters at several seeds and compare their verdicts.

    .venv/bin/python ci/stability.py --chapters 00_power_laws 04_critical_batch --seeds 1 2 3 [--profile ci]

Each (chapter, seed) is executed with papermill in a FRESH run store (a temporary folder, deleted
afterwards), so nothing is reused from earlier runs or from another seed and every wall time is that of a
run from scratch. The tool prints, per chapter, a table of verdicts by seed (estimate and 95 % interval
beside each; ``≠`` marks a claim whose verdict differs between seeds), the share of claims whose verdicts
agree, whether the headline claim was decided (reproduced or not reproduced) at every seed, and the wall
and CPU (user + system) time of every run. It writes a JSON summary, by default
``_stability/summary.json`` (git-ignored), which the book's status page shows when it is present, and
keeps the verdict files and executed notebooks beside it (``_stability/<chapter>/seed<N>/``).

The power target of the book (CONTRIBUTING.md): at the ``ci`` profile, across seeds 1, 2 and 3, at least
90 % of a chapter's verdicts agree and its headline claim is decided at every seed. This is not part of
CI (a chapter at three seeds takes about a quarter of an hour on two cores).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from scalinglab.claims import INCONCLUSIVE, PROFILES, VERDICT_SYMBOLS

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "ci"))
from build_book import children_cpu_s, failing_cell_traceback  # noqa: E402

OUT = ROOT / "_stability"
RECORD = ROOT / "data" / "stability.json"  # the recorded summary, with the commit each chapter ran at
AGREEMENT_TARGET = 0.9
DEFAULT_SEEDS = (1, 2, 3)


def run_chapter(chapter: str, seed: int, profile: str, out_dir: Path, timeout_s: float,
                chapters_dir: Path = ROOT / "chapters", smoke: bool = False) -> tuple[dict | None, dict]:
    """Execute ``<chapters_dir>/<chapter>.ipynb`` at ``seed`` in a fresh run store; returns (verdict
    record or None, run record with ok, wall_time_s, cpu_time_s, error)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    notebook = Path(chapters_dir) / f"{chapter}.ipynb"
    executed = out_dir / f"{chapter}.ipynb"
    verdicts = out_dir / f"{chapter}.verdicts.json"
    verdicts.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix=f"stability-{chapter}-s{seed}-") as store:
        env = dict(os.environ, SCALINGLAB_RUN_STORE=store, SCALINGLAB_RESULTS_DIR=str(out_dir))
        for key, value in (("HF_HUB_OFFLINE", "1"), ("HF_DATASETS_OFFLINE", "1"), ("TQDM_MININTERVAL", "60")):
            env.setdefault(key, value)
        cmd = [sys.executable, "-m", "papermill", "-k", "python3", "--cwd", str(notebook.parent), "--no-progress-bar",
               str(notebook), str(executed), "-p", "profile", profile, "-p", "seed", str(seed)]
        if smoke:
            cmd += ["-p", "smoke", "True"]
        start, cpu = time.perf_counter(), children_cpu_s()
        try:
            proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout_s)
            code, stderr = proc.returncode, proc.stderr
        except subprocess.TimeoutExpired:
            code, stderr = -9, f"killed after {timeout_s:.0f} s"
        run = {"ok": code == 0, "wall_time_s": round(time.perf_counter() - start, 1),
               "cpu_time_s": round(children_cpu_s() - cpu, 1), "error": ""}
    if code != 0:
        run["error"] = (failing_cell_traceback(executed) or stderr)[-2000:]
    record = json.loads(verdicts.read_text()) if verdicts.exists() else None
    if code == 0 and record is None:
        run["ok"], run["error"] = False, "the chapter wrote no verdicts"
    return record, run


def summarise(records: dict[str, dict[int, dict | None]], runs: dict[str, dict[int, dict]], profile: str,
              seeds: list[int], command: str = "", smoke: bool = False) -> dict:
    """The stability summary from verdict records by chapter and seed (None where a run failed).

    For each claim: its verdict, estimate and interval at each seed, and whether the verdicts agree
    (identical at every seed that produced one, and no seed missing). Per chapter: the share of claims
    that agree, whether the headline claim was decided at every seed, and whether the power target is met.
    """
    chapters = []
    for chapter, by_seed in records.items():
        ids: list[str] = []
        headline: set[str] = set()
        for s in seeds:
            for v in (by_seed.get(s) or {}).get("verdicts", []):
                if v["id"] not in ids:
                    ids.append(v["id"])
                if v["claim"].get("headline"):
                    headline.add(v["id"])
        claims = []
        for cid in ids:
            entries = {}
            for s in seeds:
                v = next((v for v in (by_seed.get(s) or {}).get("verdicts", []) if v["id"] == cid), None)
                if v is not None:
                    lo, hi = (v.get("interval") or [None, None])[:2]
                    entries[str(s)] = {"verdict": v["verdict"], "estimate": v.get("estimate"), "lo": lo, "hi": hi,
                                       "reason": v.get("reason", "")}
            verdict_set = {e["verdict"] for e in entries.values()}
            claims.append({"id": cid, "headline": cid in headline, "by_seed": entries,
                           "agree": len(entries) == len(seeds) and len(verdict_set) == 1,
                           "decided_every_seed": len(entries) == len(seeds)
                           and all(e["verdict"] != INCONCLUSIVE for e in entries.values())})
        agreement = sum(c["agree"] for c in claims) / len(claims) if claims else 0.0
        head = [c for c in claims if c["headline"]]
        headline_decided = bool(head) and all(c["decided_every_seed"] for c in head)
        chapters.append({"chapter": chapter, "seeds": list(seeds), "profile": profile, "claims": claims,
                         "agreement": agreement,
                         "headline": [c["id"] for c in head], "headline_decided_every_seed": headline_decided,
                         "meets_target": agreement >= AGREEMENT_TARGET and headline_decided,
                         "runs": {str(s): runs.get(chapter, {}).get(s, {"ok": False, "error": "not run"}) for s in seeds}})
    return {"generated_at": datetime.now(timezone.utc).isoformat(timespec="seconds"), "profile": profile,
            "smoke": smoke, "seeds": list(seeds), "command": command, "agreement_target": AGREEMENT_TARGET, "chapters": chapters}


def _num(x) -> str:
    return "—" if x is None else f"{x:.3g}"


def merge_summaries(old: dict | None, new: dict) -> dict:
    """``new`` with the chapters of ``old`` that ``new`` did not run kept (each chapter keeps its own seeds,
    profile and commit), so that chapters checked one at a time add up to one summary."""
    if not old:
        return new
    ran = {ch["chapter"] for ch in new["chapters"]}
    kept = [dict(ch, seeds=ch.get("seeds", old.get("seeds")), profile=ch.get("profile", old.get("profile")))
            for ch in old.get("chapters", []) if ch["chapter"] not in ran]
    return dict(new, chapters=kept + new["chapters"])


def format_table(summary: dict) -> str:
    """The summary as plain text: one table per chapter, verdicts by seed, ``≠`` on disagreements."""
    out = []
    for ch in summary["chapters"]:
        seeds = ch.get("seeds", summary["seeds"])
        rows = [["claim", *[f"seed {s}" for s in seeds], ""]]
        for c in ch["claims"]:
            cells = []
            for s in seeds:
                e = c["by_seed"].get(str(s))
                cells.append("—" if e is None else
                             f"{VERDICT_SYMBOLS.get(e['verdict'], '?')} {_num(e['estimate'])} [{_num(e['lo'])}, {_num(e['hi'])}]")
            rows.append([c["id"] + ("*" if c["headline"] else ""), *cells, "" if c["agree"] else "≠"])
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        out.append(f"{ch['chapter']} (profile {ch.get('profile', summary['profile'])}"
                   + (f", commit {ch['commit']}" if ch.get("commit") else "")
                   + (", smoke run: nothing decided" if summary.get("smoke") else "") + ")")
        out += ["  " + "  ".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip() for r in rows]
        times = ", ".join(f"seed {s} {_num(ch['runs'][str(s)].get('wall_time_s'))} s wall / "
                          f"{_num(ch['runs'][str(s)].get('cpu_time_s'))} s CPU" for s in seeds)
        out.append(f"  agreement {ch['agreement']:.0%} (target {summary['agreement_target']:.0%}); headline "
                   f"{', '.join(ch['headline']) or '(none marked)'} decided at every seed: "
                   f"{'yes' if ch['headline_decided_every_seed'] else 'NO'}; target "
                   f"{'met' if ch['meets_target'] else 'NOT met'}")
        out.append(f"  times: {times}")
        for s in seeds:
            err = ch["runs"][str(s)].get("error")
            if err:
                out.append(f"  seed {s} failed: {err.strip().splitlines()[-1] if err.strip() else err}")
        out.append("")
    out.append("✔ reproduced, ✘ not reproduced, ? inconclusive; estimate [95 % interval]; * headline claim; "
               "≠ the verdicts differ between seeds.")
    return "\n".join(out)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chapters", nargs="+", required=True, help="e.g. 00_power_laws 04_critical_batch")
    parser.add_argument("--seeds", nargs="+", type=int, default=list(DEFAULT_SEEDS))
    parser.add_argument("--profile", default="ci", choices=PROFILES)
    parser.add_argument("--out", default=str(OUT), help="folder of the summary and the runs (default _stability/)")
    parser.add_argument("--timeout-s", type=float, default=1800, help="stop one run after this long")
    parser.add_argument("--smoke", action="store_true",
                        help="run with -p smoke True (tiny sizes, nothing decided): a quick check of the tool itself")
    parser.add_argument("--record", action="store_true",
                        help=f"also copy the merged summary to {RECORD.relative_to(ROOT)} (committed: the status page "
                             "and report card show it)")
    parser.add_argument("--chapters-dir", default=str(ROOT / "chapters"), help=argparse.SUPPRESS)  # for tests
    parser.add_argument("--record-path", default=str(RECORD), help=argparse.SUPPRESS)  # for tests
    args = parser.parse_args(argv)
    chapters_dir = Path(args.chapters_dir)
    unknown = [c for c in args.chapters if not (chapters_dir / f"{c}.ipynb").exists()]
    if unknown:
        parser.error(f"no such chapter(s): {unknown}")
    out = Path(args.out)
    command = "ci/stability.py --chapters " + " ".join(args.chapters) + " --seeds " + " ".join(map(str, args.seeds)) \
        + f" --profile {args.profile}" + (" --smoke" if args.smoke else "")
    records: dict[str, dict] = {c: {} for c in args.chapters}
    runs: dict[str, dict] = {c: {} for c in args.chapters}
    for chapter in args.chapters:
        for seed in args.seeds:
            print(f"[stability] {chapter} seed {seed} (profile {args.profile}) …", flush=True)
            folder = out / chapter / f"seed{seed}"
            if folder.exists():
                shutil.rmtree(folder)
            records[chapter][seed], runs[chapter][seed] = run_chapter(chapter, seed, args.profile, folder, args.timeout_s,
                                                                      chapters_dir, args.smoke)
            r = runs[chapter][seed]
            print(f"[stability]   {'ok' if r['ok'] else 'FAILED'} in {r['wall_time_s']:.0f} s wall, "
                  f"{r['cpu_time_s']:.0f} s CPU", flush=True)
    summary = summarise(records, runs, args.profile, args.seeds, command=command, smoke=args.smoke)
    from scalinglab.chapter import git_commit

    commit = git_commit()
    for ch in summary["chapters"]:
        ch["commit"], ch["command"], ch["generated_at"] = commit, command, summary["generated_at"]
    out.mkdir(parents=True, exist_ok=True)
    try:
        old = json.loads((out / "summary.json").read_text())
    except (OSError, json.JSONDecodeError):
        old = None
    fresh = summary
    summary = merge_summaries(old, fresh)
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    if args.record:
        record_path = Path(args.record_path)
        try:  # the committed record keeps every chapter checked before, whatever this checkout's _stability/ holds
            recorded = json.loads(record_path.read_text())
        except (OSError, json.JSONDecodeError):
            recorded = None
        record_path.write_text(json.dumps(merge_summaries(recorded, fresh), indent=2) + "\n")
    print()
    print(format_table(summary))
    print(f"\n[stability] summary in {out / 'summary.json'}")
    return 0 if all(r["ok"] for by_seed in runs.values() for r in by_seed.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
