"""Fast tests of the reader furniture (no chapter is executed): the report card and its forest plots, the
status page with the stability summary, paper values, and the build-time decoration of chapters (run box,
provenance, learning objectives, clean progress bars). The verdict files are synthetic but built with
the library's own verdict machinery (``make_verdict_record`` in tests/conftest.py)."""

import importlib
import json
import pkgutil
import re
import sys
from pathlib import Path

import nbformat
import pytest

from scalinglab.claims import VERDICT_SYMBOLS, VERDICTS

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "ci"))
import pages  # noqa: E402
from build_book import _learning_objectives_box, _terminal_text, clean_stream_outputs, decorate_chapter  # noqa: E402

RUNNER = {"profile": "ci", "seed": 0, "total_wall_time_s": 130.0,
          "chapters": [{"chapter": "00_power_laws", "wall_time_s": 130.0, "budget_s": 300, "ok": True, "error": ""}]}


def _cards(text: str) -> list[str]:
    return re.findall(r":::\{container\} claim-card\n(.*?)\n:::", text, flags=re.S)


def test_report_card_gives_each_claim_its_badge_reason_interval_and_preconditions(tmp_path, verdict_record):
    # K1 reproduced, K2 not reproduced, K3 straddles the threshold, K4's precondition failed
    record = verdict_record(outcomes=[("K1", (1.2, 1.6)), ("K2", (0.2, 0.4)), ("K3", (0.8, 1.3)), ("K4", (2.0, 3.0))],
                            failed_precondition=("K4",), revised=("K2",))
    out = tmp_path / "report_card.md"
    pages.write_report_card(out, [record], RUNNER, paper_values={})
    cards = _cards(out.read_text())
    assert len(cards) == 4
    expected = ["reproduced", "not reproduced", "inconclusive at this profile", "inconclusive at this profile"]
    for card, v, verdict in zip(cards, record["verdicts"], expected):
        first = card.strip().splitlines()[0]
        assert pages.BADGES[verdict] in first
        # the reason stands right after the badge, on the same line, whole
        assert first.split(pages.BADGES[verdict], 1)[1].strip() == v["reason"]
        assert v["claim"]["statement"] in card and v["claim"]["criterion"] in card
    assert "ratio_K1 = 1.4 [1.2, 1.6]" in cards[0]
    assert "underpowered" in cards[2]
    assert "✘ share of best rates on a grid edge = 0.5 (needs edge_share ≤ 0.2)" in cards[3]
    assert "✔ share of best rates on a grid edge = 0.1" in cards[0]
    assert "{bdg-info}`revised`" in cards[1] and "{bdg-info}`revised`" not in cards[0]
    assert "previous criterion “ratio_K2 ≥ 2” — a fixed margin, decided before the runs" in cards[1]
    assert "(headline)" in cards[0] and "(headline)" not in cards[1]


def test_report_card_draws_one_forest_plot_per_chapter(tmp_path, verdict_record):
    records = [verdict_record("00_power_laws"), verdict_record("04_critical_batch", outcomes=[("B1", (0.5, 2.0))])]
    out = tmp_path / "report_card.md"
    pages.write_report_card(out, records, RUNNER, paper_values={})
    text = out.read_text()
    for chapter in ("00_power_laws", "04_critical_batch"):
        png = tmp_path / pages.FIGURES / f"{chapter}.forest.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert f"```{{figure}} {pages.FIGURES}/{chapter}.forest.png" in text
    # every figure has a caption and a takeaway right after it
    takeaways = re.findall(r"```\n\n(Of \d+ claim\(s\): [^\n]+)\n", text)
    assert len(takeaways) == 2
    assert "the interval of B1 straddles its threshold" in takeaways[1]
    assert "the decided claim closest to flipping is K1" in takeaways[0]  # K1 [1.2, 1.6] vs 1: 0.5 widths


def test_report_card_shows_the_cited_paper_value(tmp_path, verdict_record):
    paper = {"K1": {"value": "α ≈ 0.076", "citation": "Kaplan et al. 2020, Eq. 1.1"}}
    out = tmp_path / "report_card.md"
    pages.write_report_card(out, [verdict_record()], RUNNER, paper_values=paper, figures=False)
    text = out.read_text()
    assert "- **Paper:** α ≈ 0.076 [^pv-K1]" in _cards(text)[0]
    assert "[^pv-K1]: Kaplan et al. 2020, Eq. 1.1" in text
    assert "[^pv-K2]" not in text


def test_margin_measures_the_distance_to_flipping(verdict_record):
    v1, v2 = verdict_record(outcomes=[("K1", (1.5, 2.0)), ("K2", (0.9, 1.3))])["verdicts"]
    assert pages.margin(v1) == pytest.approx(1.0)  # 0.5 from the threshold 1.0, interval width 0.5
    assert pages.margin(v2) == pytest.approx(-0.25)  # straddles: 0.1 inside, width 0.4


def test_the_badges_use_the_library_vocabulary():
    styles = set()
    for verdict in VERDICTS:
        b = pages.badge(verdict)
        match = re.fullmatch(r"\{bdg-(\w+)\}`(.) (.+)`", b)
        assert match, b
        assert match.group(2) == VERDICT_SYMBOLS[verdict] and match.group(3) == verdict
        styles.add(match.group(1))
    assert len(styles) == len(VERDICTS), "two verdicts share a badge colour"
    assert pages.badge("no such verdict").startswith("{bdg-secondary}")


def test_status_page_shows_the_stability_summary(tmp_path, verdict_record):
    import stability

    records = {1: verdict_record(seed=1), 2: verdict_record(seed=2, outcomes=[("K1", (0.9, 1.6)), ("K2", (0.2, 0.4))])}
    runs = {s: {"ok": True, "wall_time_s": 10.0 + s, "cpu_time_s": 18.0, "error": ""} for s in records}
    summary = stability.summarise({"00_power_laws": records}, {"00_power_laws": runs}, profile="ci", seeds=[1, 2])
    out = tmp_path / "status.md"
    pages.write_status(out, [verdict_record()], RUNNER, stability=summary)
    text = out.read_text()
    assert "## Stability across seeds" in text and "| K1 (headline) |" in text
    k1 = next(line for line in text.splitlines() if line.startswith("| K1"))
    assert k1.endswith("| ≠ |") and "✔ reproduced" in k1 and "? inconclusive at this profile" in k1
    assert "headline decided at every seed: no" in text
    pages.write_status(out, [verdict_record()], RUNNER, stability=None)
    assert "No stability run is recorded" in out.read_text()


def test_paper_values_are_cited_and_name_claims_of_the_book():
    data = pages.load_paper_values()
    assert data, "data/paper_values.yml is empty"
    for claim_id, entry in data.items():
        assert re.search(r"\b(19|20)\d\d\b", entry["citation"]), f"{claim_id}: the citation has no year"
        assert re.search(r"Fig|Eq|Sec|Table|Tab\.|App|abstract", entry["citation"], re.I), f"{claim_id}: the citation says not where"
    import scalinglab.experiments

    modules = [importlib.import_module(f"scalinglab.experiments.{m.name}")
               for m in pkgutil.iter_modules(scalinglab.experiments.__path__)]
    if not all(hasattr(m, "CLAIMS") for m in modules):
        pytest.skip("not every experiment module defines CLAIMS yet")
    ids = {c.id for m in modules for c in m.CLAIMS}
    assert set(data) <= ids, f"paper values for claims the book does not check: {sorted(set(data) - ids)}"


def test_paper_values_without_citation_are_refused(tmp_path):
    bad = tmp_path / "pv.yml"
    bad.write_text("K1:\n  value: '0.076'\n")
    with pytest.raises(ValueError, match="citation"):
        pages.load_paper_values(bad)


def test_terminal_text_keeps_the_last_state_of_a_progress_bar():
    text = "\rrun: 0%|   | 0/3\rrun: 33%|#  | 1/3\rrun: 100%|###| 3/3\nnext\r\n"
    assert _terminal_text(text) == "run: 100%|###| 3/3\nnext\n"


def test_clean_stream_outputs_merges_consecutive_streams():
    cell = nbformat.v4.new_code_cell("x")
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="\rbar 0%"),
                    nbformat.v4.new_output("stream", name="stdout", text="\rbar 100%\n"),
                    nbformat.v4.new_output("stream", name="stderr", text="err\n")]
    nb = nbformat.v4.new_notebook(cells=[cell])
    assert clean_stream_outputs(nb) == 1
    assert [o["text"] for o in nb.cells[0].outputs] == ["bar 100%\n", "err\n"]


def test_learning_objectives_become_a_box_and_the_rest_is_kept():
    source = "# T\n\nIntro.\n\n**Learning objectives.** After this chapter you can\n\n- one;\n  more\n- two.\n\nAfter."
    out = _learning_objectives_box(source)
    assert ":::{admonition} Learning objectives" in out
    assert out.index(":::{admonition}") < out.index("- one;") < out.index("- two.") < out.rindex(":::") < out.index("After.")
    assert out.startswith("# T\n\nIntro.")
    assert _learning_objectives_box("# T\n\nno objectives") == "# T\n\nno objectives"


def test_decorate_chapter_adds_run_box_and_provenance(tmp_path, verdict_record):
    src = ROOT / "chapters" / "00_power_laws.ipynb"
    nb = nbformat.read(src, as_version=4)
    injected = nbformat.v4.new_code_cell('# Parameters\nprofile = "ci"\n', metadata={"tags": ["injected-parameters"]})
    nb.cells.insert(2, injected)
    nb.metadata["papermill"] = {"parameters": {"profile": "ci", "seed": 0}}
    executed = tmp_path / "00_power_laws.ipynb"
    nbformat.write(nb, executed)
    (tmp_path / "00_power_laws.verdicts.json").write_text(json.dumps(verdict_record()))
    decorate_chapter(executed, src, {"chapter": "00_power_laws", "wall_time_s": 130.0, "ok": True})
    out = nbformat.read(executed, as_version=4)
    found = out.cells[1]  # "What we found", from the verdicts, right under the introduction
    assert "what-we-found" in found.metadata["tags"] and ":::{admonition} What we found" in found.source
    assert "K1" in found.source and "Reproduced" in found.source
    assert "remove-cell" in out.cells[3].metadata["tags"]
    box = out.cells[4]
    assert box.cell_type == "markdown" and "run-box" in box.source
    assert "-p profile ci" in box.source and "-p profile full" in box.source and "-p smoke True" in box.source
    footer = out.cells[-1].source
    for needle in ("abc1234", "`ci`", "`0`", "cpu: x86_64", "123 s", "torch 2.13.0", "python 3.11.7"):
        assert needle in footer, needle
    assert "Learning objectives" in out.cells[0].source and ":::{admonition}" in out.cells[0].source
    nbformat.validate(out)


def test_report_card_shows_each_audit_and_keeps_published_claims_apart(tmp_path, verdict_record):
    from pages import findings_markdown, write_report_card, write_status

    record = verdict_record(outcomes=(("K1", (1.2, 1.6)), ("K2", (0.2, 0.4))))
    k1, k2 = record["verdicts"]
    k1["audit"] = {"profile": "ci", "n_sims": 60, "power": 0.9, "false_positive_rate": 0.0, "coverage": 0.95,
                   "rivals": ["loglinear"], "rival_descriptions": {"loglinear": "L linear in log N"},
                   "worlds": {"paper": {"reproduced": 0.9, "not_reproduced": 0.0, "inconclusive": 0.1, "n": 60},
                              "loglinear": {"reproduced": 0.0, "not_reproduced": 0.97, "inconclusive": 0.03, "n": 60}}}
    k2["claim"]["evidence"] = "published"
    record["provenance"]["work"] = {"runs": 21, "trained_now": 21, "run_wall_s": 300.0, "run_cpu_s": 290.0,
                                    "train_s": 250.0, "model_flops": 5e12, "sweep_wall_s": 160.0,
                                    "peak_flops_per_s": 9.0e10}
    runner = {"profile": "ci", "seed": 0, "chapters": [{"chapter": "00_power_laws", "ok": True, "wall_time_s": 170.0,
                                                        "cpu_time_s": 320.0, "budget_s": 300, "error": ""}],
              "total_wall_time_s": 170.0, "built_at": "2026-12-03 12:00"}
    card = tmp_path / "report_card.md"
    write_report_card(card, [record], runner, paper_values={}, figures=False)
    text = card.read_text()
    assert "**Audit** (60 simulated runs" in text and "rival *loglinear* (L linear in log N): reproduced 0 %" in text
    assert "power" in text and "covered the paper world's true value in 95 %" in text
    head, published = text.split("## Claims computed from published numbers")
    assert "K2" in published and "K2" not in head.split("(report-card-00_power_laws)=")[1]
    assert "**1 claim decided on models trained in this build:**" in text
    status = tmp_path / "status.md"
    write_status(status, [record], runner)
    s = status.read_text()
    assert "Built 2026-12-03 12:00 (UTC)" in s and "| 00_power_laws | 21 / 21 | 5e+12 | 20.0 | 22% |" in s.replace(" %", "%")
    box = findings_markdown(record)
    assert box.startswith(":::{admonition} What we found") and "1 of 1 claim was decided" in box
    assert box.index("K1") < box.index("K2") and "(from published numbers)" in box
