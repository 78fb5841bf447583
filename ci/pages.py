"""Generate the report card and status pages from the executed chapters' verdict files, the forest plot
of each chapter's claims, and the build-time furniture of each chapter page (run-profile box,
provenance footer).

Nothing here is typed by hand into a page: every verdict, number and reason comes from the
``<chapter>.verdicts.json`` files the chapters wrote (one :meth:`scalinglab.claims.Verdict.to_dict`
record per claim), the paper's numbers from ``data/paper_values.yml`` (cited data), and the seed
stability of the verdicts from ``_stability/summary.json`` when ``ci/stability.py`` has written one.
The verdict words, their symbols and colours and the profiles are the library's
(:mod:`scalinglab.claims`).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import yaml

from scalinglab.claims import INCONCLUSIVE, NOT_REPRODUCED, PROFILES, REPRODUCED, VERDICT_COLOURS, VERDICT_SYMBOLS, VERDICTS

ROOT = Path(__file__).resolve().parents[1]
PAPER_VALUES = ROOT / "data" / "paper_values.yml"
STABILITY_SUMMARY = ROOT / "_stability" / "summary.json"
FIGURES = "report_card_figures"  # folder of the forest plots, inside the staged book

# Colour *and* text (and a glyph), so the verdict reads without colour too. sphinx-design badges.
_BADGE_STYLE = {REPRODUCED: "success", NOT_REPRODUCED: "danger", INCONCLUSIVE: "warning"}
BADGES = {v: f"{{bdg-{_BADGE_STYLE[v]}}}`{VERDICT_SYMBOLS[v]} {v}`" for v in VERDICTS}
BADGE_FAILED = "{bdg-dark}`chapter failed`"
MEANINGS = {
    REPRODUCED: "every precondition held and the criterion holds over the whole 95 % interval",
    NOT_REPRODUCED: "every precondition held and the criterion fails over the whole 95 % interval",
    INCONCLUSIVE: "the interval straddles a threshold (underpowered), a precondition failed, or this "
                  "profile cannot decide the claim (the reason says which)",
}


def badge(verdict: str) -> str:
    return BADGES.get(verdict, f"{{bdg-secondary}}`{verdict}`")


def _cell(text) -> str:
    """Text safe inside a Markdown table cell."""
    return str(text).replace("|", "\\|").replace("\n", " ")


def fmt(value) -> str:
    """A number for a page: 3 significant figures; ``—`` for a missing one."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, (int, float)):
        return f"{value:.3g}"
    return str(value)


def estimate_text(v: dict) -> str:
    """``statistic = estimate [lo, hi]`` of one verdict record."""
    lo, hi = (v.get("interval") or [None, None])[:2]
    return f"{v['statistic']} = {fmt(v.get('estimate'))} [{fmt(lo)}, {fmt(hi)}]"


def load_paper_values(path: Path = PAPER_VALUES) -> dict:
    """The cited paper values keyed by claim id (empty when the file is missing)."""
    if not path.exists():
        return {}
    data = yaml.safe_load(path.read_text()) or {}
    for claim_id, entry in data.items():
        if not isinstance(entry, dict) or not entry.get("value") or not entry.get("citation"):
            raise ValueError(f"{path}: entry {claim_id!r} needs a 'value' and a 'citation'")
    return data


STABILITY_RECORD = ROOT / "data" / "stability.json"  # committed by `ci/stability.py --record`


def load_stability(path: Path = STABILITY_SUMMARY, record: Path | None = STABILITY_RECORD) -> dict | None:
    """The summary ``ci/stability.py`` wrote in this checkout, else the recorded one in ``data/`` (each
    chapter with the commit it ran at), or None when there is neither (or it cannot be read)."""
    for candidate in (path, record):
        if candidate is None:
            continue
        try:
            return json.loads(Path(candidate).read_text())
        except (OSError, json.JSONDecodeError):
            continue
    return None


def claims_label(chapter: str) -> str:
    """The MyST label every chapter puts above its claims section."""
    return f"{chapter}-claims"


def claim_link(chapter: str, claim_id: str, sources: Path | None = None) -> str:
    """A cross-reference to the chapter's claims section when it has the label, else the page."""
    label = claims_label(chapter)
    for folder in [p for p in (sources, ROOT) if p is not None]:
        for suffix in (".ipynb", ".md"):
            source = folder / "chapters" / f"{chapter}{suffix}"
            if source.exists() and f"({label})=" in source.read_text():
                return f"{{ref}}`{claim_id} <{label}>`"
    return f"{{doc}}`{claim_id} <chapters/{chapter}>`"


# ---- the forest plot --------------------------------------------------------------------------------------

def _axis_limits(values: list[float]) -> tuple[float, float]:
    lo, hi = min(values), max(values)
    pad = (hi - lo) * 0.15 or max(abs(lo), 1.0) * 0.15
    return lo - pad, hi + pad


def forest_plot(result: dict, path: Path) -> Path:
    """One small axis per claim: the statistic's estimate (dot) and 95 % interval (bar) against its
    threshold line(s), coloured by verdict. Each claim has its own x-scale (the statistics differ in
    units and size); the shaded side of a threshold is where the criterion holds. Saved as PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    verdicts = result["verdicts"]
    n = max(1, len(verdicts))
    fig, axes = plt.subplots(n, 1, figsize=(7.5, 0.62 * n + 0.55), squeeze=False)
    for ax, v in zip(axes[:, 0], verdicts):
        colour = VERDICT_COLOURS.get(v["verdict"], "#616161")
        est = v.get("estimate")
        lo, hi = (v.get("interval") or [None, None])[:2]
        thresholds = [t for t in v.get("thresholds") or [] if t is not None]
        measured = [x for x in (est, lo, hi) if isinstance(x, (int, float)) and math.isfinite(x)]
        left, right = _axis_limits(measured + thresholds or [0.0, 1.0])
        ax.set_xlim(left, right)
        ax.set_ylim(-1, 1)
        low, high = _low_high(v)
        # where the criterion holds, shaded lightly
        ax.axvspan(low if low is not None else left, high if high is not None else right,
                   color="#e8f5e9", zorder=0)
        for t in thresholds:
            ax.axvline(t, color="#424242", lw=1.2, ls="--", zorder=1)
        if lo is not None and hi is not None:
            ax.plot([lo, hi], [0, 0], color=colour, lw=4, solid_capstyle="butt", zorder=2)
        if est is not None:
            ax.plot([est], [0], "o", color=colour, ms=7, mec="white", zorder=3)
        else:
            ax.text(0.5, 0, "not measured", transform=ax.get_yaxis_transform(), ha="center", va="center",
                    color="#616161", fontsize=8)
        ax.set_yticks([])
        ax.tick_params(axis="x", labelsize=7, pad=1)
        ax.text(-0.01, 0.5, f"{v['id']} {VERDICT_SYMBOLS.get(v['verdict'], '')}", transform=ax.transAxes,
                ha="right", va="center", fontsize=9, fontweight="bold", color=colour)
        ax.text(1.01, 0.5, _short(v["statistic"]), transform=ax.transAxes, ha="left", va="center",
                fontsize=7, color="#424242")
        for side in ("left", "right", "top"):
            ax.spines[side].set_visible(False)
    fig.subplots_adjust(left=0.09, right=0.72, top=0.98, bottom=0.45 / (0.62 * n + 0.55), hspace=1.1)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _low_high(v: dict) -> tuple[float | None, float | None]:
    """The criterion's (low, high) from the record: thresholds plus the criterion's direction."""
    thresholds = v.get("thresholds") or []
    text = v["claim"].get("criterion", "")
    if len(thresholds) == 2:
        return thresholds[0], thresholds[1]
    if len(thresholds) == 1:  # the criterion's operator is the last one in its text (after the statistic)
        return (thresholds[0], None) if text.rfind("≥") > text.rfind("≤") else (None, thresholds[0])
    return None, None


def _short(text: str, width: int = 34) -> str:
    """A statistic's name wrapped onto at most two lines for the plot's right margin (the page shows it whole)."""
    import textwrap

    lines = textwrap.wrap(text, width)
    if len(lines) > 2:
        lines = lines[:2]
        lines[1] = lines[1][: width - 1] + "…"
    return "\n".join(lines)


def margin(v: dict) -> float | None:
    """How far a verdict is from flipping: the distance from the interval to the nearest threshold, in
    interval widths (negative when the interval straddles it). None when nothing was measured."""
    lo, hi = (v.get("interval") or [None, None])[:2]
    thresholds = v.get("thresholds") or []
    if lo is None or hi is None or not thresholds:
        return None
    width = (hi - lo) or 1e-12
    gaps = []
    for t in thresholds:
        if lo <= t <= hi:
            gaps.append(-min(t - lo, hi - t) / width)
        else:
            gaps.append(min(abs(t - lo), abs(t - hi)) / width)
    return min(gaps)


def forest_takeaway(result: dict) -> str:
    """The one-sentence takeaway under a chapter's forest plot (generated from its verdicts): the counts,
    then how far the verdicts are from flipping — the decided claim nearest its threshold, the claims
    whose interval straddles one."""
    verdicts = result["verdicts"]
    counts = {k: sum(v["verdict"] == k for v in verdicts) for k in VERDICTS}
    said = ", ".join(f"{n} {k}" for k, n in counts.items() if n)
    head = f"Of {len(verdicts)} claim(s): {said}"
    if result.get("smoke"):
        return f"{head}; this was a smoke run with tiny sizes, so the intervals say nothing about the claims."
    decided = [(m, v["id"]) for v in verdicts if v["verdict"] != INCONCLUSIVE and (m := margin(v)) is not None]
    straddle = [v["id"] for v in verdicts if v["verdict"] == INCONCLUSIVE and (margin(v) or 0) < 0]
    parts = []
    if decided:
        m, cid = min(decided)
        parts.append(f"the decided claim closest to flipping is {cid}, whose interval ends {m:.2g} interval "
                     "widths from its threshold")
    if straddle:
        parts.append(f"the interval of {', '.join(straddle)} straddles its threshold (more seeds or a larger "
                     "profile could decide it)")
    if not parts:
        parts.append("no claim was decided on its interval (see each card's reason)")
    return f"{head}; " + "; ".join(parts) + "."


# ---- the report card ------------------------------------------------------------------------------------------

def precondition_text(p: dict) -> str:
    mark = "✔" if p.get("held") else "✘"
    return f"{mark} {p['description']} = {fmt(p.get('value'))} (needs {p['requirement']})"


def _rate(x) -> str:
    return "—" if x is None or (isinstance(x, float) and not math.isfinite(x)) else f"{100 * x:.0f} %"


def audit_text(v: dict) -> str | None:
    """The claim card's audit line: power in the paper world, false-positive rate in each rival world,
    how often the rival came out not reproduced, and the coverage of the interval (``scalinglab.audit``)."""
    a = v.get("audit")
    if not a:
        return None
    worlds = a.get("worlds") or {}
    paper = worlds.get("paper") or {}
    n = a.get("n_sims") or paper.get("n")
    n_paper = paper.get("n") or n
    rivals = []
    for r in a.get("rivals") or []:
        x = worlds.get(r) or {}
        desc = (a.get("rival_descriptions") or {}).get(r) or ""
        rivals.append(f"rival *{r}*" + (f" ({desc})" if desc else "") + f": reproduced {_rate(x.get('reproduced'))}"
                      f" (false-positive rate), not reproduced {_rate(x.get('not_reproduced'))}")
    cover = f"; the 95 % interval covered the paper world's true value in {_rate(a.get('coverage'))}" \
        if a.get("coverage") is not None else ""
    return (f"**Audit** ({n} simulated runs of this design per world"
            + (f", {n_paper} in the paper world" if n_paper != n else "") + f", profile `{a.get('profile')}`): paper world "
            f"reproduced {_rate(a.get('power'))} (power); " + "; ".join(rivals) + cover + ".")


def is_published(v: dict) -> bool:
    """A verdict on a claim computed from published numbers (not on models trained in the run)."""
    return (v.get("claim") or {}).get("evidence") == "published"


def claim_card(chapter: str, v: dict, paper: dict | None, sources: Path | None) -> list[str]:
    """One claim on the report card: badge and reason together, then the claim and criterion in full."""
    claim = v["claim"]
    head = claim_link(chapter, claim["id"], sources)
    if claim.get("headline"):
        head += " (headline)"
    if v.get("revised"):
        head += " {bdg-info}`revised`"
    lines = [":::{container} claim-card", "",
             f"{head} {badge(v['verdict'])} {v['reason'] or '(no reason recorded)'}", "",
             f"- **Claim:** {claim['statement']} *({claim['source']})*",
             f"- **Measured:** {estimate_text(v)} (95 % interval: {claim.get('interval', '—')}; "
             f"seeds {', '.join(str(s) for s in v.get('seeds') or []) or '—'})",
             f"- **Criterion:** {claim['criterion']} (decided at: {', '.join(claim.get('decided_by') or PROFILES)})"]
    pre = v.get("preconditions") or []
    if pre:
        lines.append("- **Preconditions:** " + "; ".join(precondition_text(p) for p in pre))
    audited = audit_text(v)
    if audited:
        lines.append(f"- {audited}")
    for r in claim.get("revisions") or []:
        lines.append(f"- **Revised {r['date']}:** previous criterion “{r['previous']}” — {r['reason']}")
    if paper:
        lines.append(f"- **Paper:** {paper['value']} [^pv-{claim['id']}]")
    elif claim.get("paper_value"):
        lines.append(f"- **Paper:** {claim['paper_value']}")
    lines += ["", ":::", ""]
    return lines


def write_report_card(path: Path, results: list[dict], runner: dict, paper_values: dict | None = None,
                      figures: bool = True) -> None:
    """Write the report card (Markdown) and, with ``figures``, one forest plot per chapter beside it."""
    paper_values = load_paper_values() if paper_values is None else paper_values
    sources = path.parent
    counts = {k: 0 for k in VERDICTS}
    body, footnotes, published = [], [], []
    for result in results:
        result = dict(result)
        published += [(result["chapter"], v) for v in result["verdicts"] if is_published(v)]
        result["verdicts"] = [v for v in result["verdicts"] if not is_published(v)]
        chapter = result["chapter"]
        body += [f"(report-card-{chapter})=", f"## {result.get('title') or chapter}", "",
                 f"From {{doc}}`chapters/{chapter}` (profile `{result.get('profile')}`, seed {result.get('seed')}"
                 + (", **smoke run: nothing decided**" if result.get("smoke") else "") + ").", ""]
        if figures and result["verdicts"]:
            image = f"{FIGURES}/{chapter}.forest.png"
            forest_plot(result, path.parent / image)
            body += [f"```{{figure}} {image}", f":name: forest-{chapter}",
                     f":alt: Forest plot of the claims of {chapter}", "",
                     "Each row is one claim: its statistic's estimate (dot) and 95 % interval (bar), coloured "
                     "by verdict, against the threshold(s) of its criterion (dashed); the shaded side is where "
                     "the criterion holds. Each row has its own scale.", "```", "",
                     forest_takeaway(result), ""]
        for v in result["verdicts"]:
            counts[v["verdict"]] = counts.get(v["verdict"], 0) + 1
            paper = paper_values.get(v["claim"]["id"])
            if paper:
                footnotes.append(f"[^pv-{v['claim']['id']}]: {paper['citation']}")
            body += claim_card(chapter, v, paper, sources)
    total = sum(counts.values())
    if published:
        body += ["(report-card-published)=", "## Claims computed from published numbers", "",
                 "These claims are not decided on models trained in this build: each is computed from numbers "
                 "a paper published (its fitted coefficients, or its released runs, shipped in `data/` with "
                 "their licence). They have no seeds and no simulation audit, and they are not counted above.", ""]
        for chapter, v in published:
            paper = paper_values.get(v["claim"]["id"])
            if paper:
                footnotes.append(f"[^pv-{v['claim']['id']}]: {paper['citation']}")
            body += claim_card(chapter, v, paper, sources)
    lines = [
        "---",
        "html_theme.sidebar_secondary.remove: true",  # the claim cards get the page's full width
        "---",
        "",
        "# Report card",
        "",
        "Every claim the book checks, with the verdict computed by the chapter that trained the models "
        f"in this build (profile `{runner['profile']}`, seed {runner['seed']}). This page is generated by "
        "`ci/build_book.py` from the executed chapters; nothing on it is typed by hand. Each verdict comes "
        "with its reason: the statistic's 95 % interval against the criterion's threshold, or the "
        "precondition that failed. The paper's numbers come from `data/paper_values.yml`, each with its "
        "citation. A claim's id links to the place in its chapter where the claim is written down.",
        "",
        f"**{total} claim{'s' if total != 1 else ''} decided on models trained in this build:** "
        + ", ".join(f"{n} {VERDICT_SYMBOLS[k]} {k}" for k, n in counts.items() if k in BADGES) + ".",
        "",
        "```{list-table} What each badge means\n:header-rows: 1\n:widths: 30 70\n",
        "* - verdict\n  - meaning",
        *[f"* - {BADGES[k]}\n  - {MEANINGS[k]}" for k in VERDICTS],
        "```",
        "",
        "Each card also gives the claim's **simulation audit**: the chapter's own analysis run on synthetic "
        "results from a world where the paper holds (how often the claim then comes out reproduced: its "
        "*power*) and from its rival world, where the claim is false (how often it still comes out "
        "reproduced: its *false-positive rate*, at most 5 % for a claim the profile decides), and how often "
        "its 95 % interval contained the true value. Claims computed from published numbers stand in "
        "their own section at the end.",
        "",
        "A {bdg-info}`revised` claim's criterion differs from the previous edition's; its card gives the "
        "previous criterion, the reason and the date. How often the verdicts agree across seeds is on the "
        "{doc}`status page <status>`.",
        "",
        *body,
    ]
    failed = [r for r in runner["chapters"] if not r["ok"]]
    if failed:
        lines += ["```{warning}", "These chapters failed in this build; their claims have no verdict here: "
                  + ", ".join(f"{r['chapter']}" for r in failed) + ". See the {doc}`status page <status>`.",
                  "```", ""]
    if not body:
        lines += ["No chapter produced verdicts in this build.", ""]
    lines += [*footnotes, ""]
    path.write_text("\n".join(lines))


# ---- the status page -----------------------------------------------------------------------------------------

def stability_markdown(summary: dict | None) -> list[str]:
    """The seed-stability section of the status page, from ``ci/stability.py``'s summary."""
    lines = ["(status-stability)=", "## Stability across seeds", ""]
    if not summary:
        return lines + ["No stability run is recorded in this checkout. `ci/stability.py` runs chosen "
                        "chapters at several seeds in a fresh run store and writes `_stability/summary.json`, "
                        "which this section then shows (see the README).", ""]
    lines += [f"From `ci/stability.py` (profile `{summary['profile']}`"
              + (", **a smoke run: nothing decided**" if summary.get("smoke") else "") + ", "
              f"generated {summary.get('generated_at', '—')}). A claim is marked ≠ when its verdict differs "
              "between seeds. The power target: at least "
              f"{summary.get('agreement_target', 0.9):.0%} of a chapter's verdicts agree across the seeds, "
              "and its headline claim is decided at every seed.", ""]
    for ch in summary["chapters"]:
        seeds = ch.get("seeds", summary["seeds"])
        ran = ", ".join(x for x in [f"commit `{ch['commit']}`" if ch.get("commit") else "",
                                    f"`{ch['command']}`" if ch.get("command") else "",
                                    ch.get("generated_at", "")] if x)
        lines += [f"### {ch['chapter']}", "", *([f"Run at {ran}.", ""] if ran else []),
                  "| claim | " + " | ".join(f"seed {s}" for s in seeds) + " | agree |",
                  "|---|" + "---|" * len(seeds) + "---|"]
        for c in ch["claims"]:
            cells = []
            for s in seeds:
                entry = c["by_seed"].get(str(s))
                if entry is None:
                    cells.append("—")
                else:
                    cells.append(f"{VERDICT_SYMBOLS.get(entry['verdict'], '?')} {entry['verdict']}: "
                                 f"{fmt(entry.get('estimate'))} [{fmt(entry.get('lo'))}, {fmt(entry.get('hi'))}]")
            name = c["id"] + (" (headline)" if c.get("headline") else "")
            lines.append("| " + " | ".join(_cell(x) for x in [name, *cells, "✔" if c["agree"] else "≠"]) + " |")
        walls = ", ".join(f"seed {s}: {fmt(ch['runs'].get(str(s), {}).get('wall_time_s'))} s" for s in seeds)
        cpus = ", ".join(f"{fmt(ch['runs'].get(str(s), {}).get('cpu_time_s'))} s" for s in seeds)
        lines += ["", f"Agreement {ch['agreement']:.0%} of claims; headline decided at every seed: "
                      f"{'yes' if ch['headline_decided_every_seed'] else 'no'}; power target "
                      f"{'met' if ch['meets_target'] else 'not met'}. Wall time {walls} (CPU time, user + "
                      f"system: {cpus}).", ""]
        failed = [f"seed {s}: {r['error']}" for s, r in ch["runs"].items() if not r.get("ok")]
        if failed:
            lines += ["Failed runs: " + "; ".join(_cell(f)[:300] for f in failed), ""]
    return lines


def work_rows(results: list[dict]) -> list[str]:
    """The status page's work table: per chapter, what its training did against the machine's limit."""
    def flops(x):
        return "—" if x is None else f"{x:.3g}"

    lines = ["(status-work)=", "## Work done against the machine's limit", "",
             "Per chapter, from its runs as they were trained: the runs (trained in this build / all), the "
             "model FLOPs of training (forward and backward: `scalinglab.flops.flops_per_token` in PaLM's "
             "convention, 6N + 12·L·d·T per token, × the tokens trained), the "
             "throughput of the training steps on one core (each CPU run trains in a single-thread worker "
             "process), its share of this machine's measured fp32 matrix-product peak on one thread, and "
             "the time spent outside the training steps (evaluation and set-up inside the runs; analysis, "
             "figures and the audit in the chapter).", "",
             "| chapter | runs | model FLOPs | GFLOP/s per core | share of peak | outside training (runs) | outside the sweeps (chapter) |",
             "|---|---|---|---|---|---|---|"]
    for r in results:
        prov = r.get("provenance", {})
        w = prov.get("work") or {}
        if not w.get("runs"):
            continue
        rate = (w["model_flops"] / w["train_s"]) if w.get("model_flops") and w.get("train_s") else None
        peak = w.get("peak_flops_per_s")
        outside = (w["run_wall_s"] - w["train_s"]) if w.get("run_wall_s") is not None and w.get("train_s") is not None else None
        chapter_rest = (prov.get("wall_time_s") - w["sweep_wall_s"]) if prov.get("wall_time_s") and w.get("sweep_wall_s") is not None else None
        lines.append("| " + " | ".join(_cell(x) for x in [
            r["chapter"], f"{w.get('trained_now', 0)} / {w['runs']}", flops(w.get("model_flops")),
            "—" if rate is None else f"{rate / 1e9:.1f}",
            "—" if rate is None or not peak else f"{rate / peak:.0%}",
            "—" if outside is None else f"{outside:.0f} s of {w['run_wall_s']:.0f} s",
            "—" if chapter_rest is None else f"{chapter_rest:.0f} s"]) + " |")
    lines += ["", "A dash: the chapter's run function does not report that term. `benchmarks/bench_chapters.py` "
              "times each chapter's representative runs against stacked families on the same cores.", ""]
    return lines


def write_status(path: Path, results: list[dict], runner: dict, stability: dict | None = None) -> None:
    by_chapter = {r["chapter"]: r for r in results}
    n_ok = sum(r["ok"] for r in runner["chapters"])
    lines = [
        "# Build status",
        "",
        f"Built {runner.get('built_at', '—')} (UTC). Profile `{runner['profile']}`, seed {runner['seed']}. "
        f"{n_ok} of {len(runner['chapters'])} "
        f"chapter(s) executed without error, in {runner['total_wall_time_s']:.0f} s of wall time in all. "
        "Generated by `ci/build_book.py`.",
        "",
        "CPU time ÷ 2 is the chapter's user + system time over two cores: its wall time on a dedicated "
        "two-core machine, which a shared machine inflates less than the wall time.",
        "",
        "| chapter | status | wall time (runner) | CPU time ÷ 2 | budget | wall time (in chapter) |",
        "|---|---|---|---|---|---|",
    ]
    versions, machines = {}, {}
    for rec in runner["chapters"]:
        res = by_chapter.get(rec["chapter"], {})
        prov = res.get("provenance", {})
        versions = prov.get("versions", versions)
        if prov:
            machines.setdefault((prov.get("device", "—"), prov.get("commit", "—")), []).append(rec["chapter"])
        lines.append("| " + " | ".join(_cell(x) for x in [
            f"{{doc}}`{rec['chapter']} <chapters/{rec['chapter']}>`",
            "{bdg-success}`✔ ok`" if rec["ok"] else "{bdg-danger}`✘ failed`",
            f"{rec['wall_time_s']:.0f} s",
            f"{rec['cpu_time_s'] / 2:.0f} s" if rec.get("cpu_time_s") is not None else "—", f"{rec['budget_s']:.0f} s",
            f"{prov['wall_time_s']:.0f} s" if prov else "—",
        ]) + " |")
    lines.append("")
    for (device, commit), chapters in machines.items():
        lines.append(f"Device {device}, commit `{commit}`" + (f" ({', '.join(chapters)})" if len(machines) > 1 else "")
                     + ".")
    lines += ["", *work_rows(results), *stability_markdown(stability)]
    lines += ["## Library versions", "", "| package | version |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in versions.items()]
    errors = [r for r in runner["chapters"] if r["error"]]
    for r in errors:
        lines += ["", f"## {r['chapter']}: error", "", "```text", r["error"][-3000:], "```"]
    path.write_text("\n".join(lines) + "\n")


# ---- chapter furniture, injected into each executed notebook by ci/build_book.py ------------------------

_FOUND = {REPRODUCED: "Reproduced", NOT_REPRODUCED: "Not reproduced", INCONCLUSIVE: "Not decided here"}


def findings_markdown(record: dict) -> str:
    """The "What we found" box at the top of a chapter page: each claim in plain words with the verdict
    this run reached, its statistic and interval, generated from the chapter's verdict file (nothing typed).
    Claims computed from published numbers are listed last, marked as such."""
    verdicts = record.get("verdicts") or []
    if record.get("smoke"):
        intro = ("This page was built as a **smoke run** (tiny sizes, to test the code): it decides nothing, so "
                 "every claim below is undecided here.")
    else:
        decided = sum(v["verdict"] != INCONCLUSIVE for v in verdicts if not is_published(v))
        trained = sum(not is_published(v) for v in verdicts)
        intro = (f"From the models trained for this page (profile `{record.get('profile')}`, seed "
                 f"{record.get('seed')}), {decided} of {trained} claim{'s' if trained != 1 else ''} "
                 f"{'were' if decided != 1 else 'was'} decided.")
    lines = [":::{admonition} What we found", ":class: important what-we-found", "", intro, ""]
    for v in sorted(verdicts, key=is_published):
        claim = v["claim"]
        word = _FOUND.get(v["verdict"], v["verdict"])
        if is_published(v):
            word += " (from published numbers)"
        lo, hi = (v.get("interval") or [None, None])[:2]
        measured = f"{claim['statistic']} = {fmt(v.get('estimate'))}" + (
            f", 95 % interval [{fmt(lo)}, {fmt(hi)}]" if lo is not None and hi is not None else "")
        why = "" if v["verdict"] != INCONCLUSIVE else " — " + (
            "the interval straddles the threshold" if v["reason"].startswith("underpowered")
            else "a precondition failed" if v["reason"].startswith("precondition failed")
            else "this profile cannot decide it" if v["reason"].startswith("only the")
            else "nothing is decided in a smoke run" if v["reason"].startswith("smoke")
            else "it could not be measured")
        lines.append(f"- **{word}** ({claim['id']}{', headline' if claim.get('headline') else ''}): "
                     f"{claim['statement']} *{measured}; criterion {claim['criterion']}{why}.*")
    lines += ["", "Each claim's reason, preconditions and simulation audit are in the verdicts section below and "
              "on the {doc}`report card </report_card>`.", ":::"]
    return "\n".join(lines)


def papermill_command(chapter_path: str, profile: str) -> str:
    return f".venv/bin/papermill -k python3 {chapter_path} out.ipynb -p profile {profile}"


def run_box_markdown(chapter: str, parameters: dict, chapter_path: str) -> str:
    """The "run profile" box: what this page was executed with, and how to run it yourself."""
    shown = ", ".join(f"`{k} = {v!r}`" for k, v in parameters.items()) or "the defaults"
    return "\n".join([
        ":::{admonition} Run profile — and how to run this chapter yourself",
        ":class: tip run-box",
        "",
        f"This page was executed by `ci/build_book.py` with {shown} (papermill's overrides of the "
        "`parameters` cell above). Every number below comes from that run. From the repository root, "
        "after `bash ci/setup.sh`:",
        "",
        "```bash",
        "# ci profile: 2 CPU cores, a few minutes",
        papermill_command(chapter_path, "ci"),
        "# full profile: a GPU, paper-like scale",
        papermill_command(chapter_path, "full"),
        "```",
        "",
        "Any knob of the `parameters` cell can be set with another `-p name value` (e.g. `-p seed 1`); "
        "`-p smoke True` runs the code path with tiny sizes in seconds (it decides nothing), and "
        "`-p scheduler_address local` runs the sweep on a Dask cluster on this machine. Finished runs are "
        "reused from the run store (`-p refresh True` retrains). The {download}`notebook "
        f"<./{Path(chapter_path).name}>` can also be downloaded with the button at the top of the page. The "
        "library functions it calls are documented in the {doc}`API reference </library/api>`.",
        ":::",
    ])


def provenance_markdown(chapter: str, record: dict | None, runner_record: dict | None = None) -> str:
    """The provenance footer of a chapter page, from its verdict file (or the runner's error record)."""
    lines = [f"({chapter}-provenance)=", "## Provenance", ""]
    if not record:
        lines += [":::{admonition} How this page was made", ":class: warning provenance", "",
                  "This chapter did not finish in this build, so it has no verdicts and no provenance "
                  "record; see the {doc}`status page </status>`.", ":::"]
        return "\n".join(lines)
    prov = record.get("provenance", {})
    versions = prov.get("versions", {})
    wall = prov.get("wall_time_s")
    rows = [
        ("commit", f"`{prov.get('commit', 'unknown')}`"),
        ("profile", f"`{record.get('profile')}`" + (" (smoke run)" if record.get("smoke") else "")),
        ("seed", f"`{record.get('seed')}`"),
        ("device", prov.get("device", "unknown")),
        ("wall time (chapter)", f"{wall:.0f} s" if isinstance(wall, (int, float)) else "—"),
    ]
    if runner_record:
        rows.append(("wall time (runner, incl. kernel start)", f"{runner_record['wall_time_s']:.0f} s"))
    rows += [("started", prov.get("started_at", "—")),
             ("library versions", ", ".join(f"{k} {v}" for k, v in versions.items()) or "—")]
    lines += [
        ":::{admonition} How this page was made",
        ":class: note provenance",
        "",
        "| | this build |",
        "|---|---|",
        *[f"| {_cell(k)} | {_cell(v)} |" for k, v in rows],
        "",
        f"This run decided {sum(v.get('verdict') != INCONCLUSIVE for v in record.get('verdicts', []))} of its "
        f"{len(record.get('verdicts', []))} claim(s) (the others are inconclusive); each verdict and its reason is in the "
        "chapter's verdicts section above, and all claims of the book are on the {doc}`report card </report_card>`.",
        ":::",
    ]
    return "\n".join(lines)
