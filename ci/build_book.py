"""Build the book: execute every chapter with papermill, collect verdicts, generate the report
card and status pages, then build HTML with Jupyter Book 1.

    .venv/bin/python ci/build_book.py                 # ci profile, seed 0
    .venv/bin/python ci/build_book.py --profile full  # on a GPU
    .venv/bin/python ci/build_book.py --only 00_power_laws --skip-build
    .venv/bin/python ci/build_book.py --profile full --smoke --out /tmp/book  # the pipeline, in minutes

The book's sources are staged into ``_book/`` (git-ignored) with the executed notebooks in place of
the committed, output-free ones, so the table of contents is the same and ``_build/`` is never a
source (Jupyter Book ignores it). HTML lands in ``_build/html``. Any failing chapter, chapter over
its time budget, or build warning (``-W``) gives a non-zero exit; a failing cell's traceback is
printed.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
STAGE = ROOT / "_book"  # where the sources are staged; --out moves it (and _build/) elsewhere
OUTPUT = ROOT  # the folder that receives _build/html
DEFAULT_BUDGET_S = {"ci": 300, "full": 4 * 3600}

sys.path.insert(0, str(ROOT / "ci"))
from pages import (findings_markdown, load_stability, provenance_markdown, run_box_markdown,  # noqa: E402
                   write_report_card, write_status)

from scalinglab.claims import PROFILES  # noqa: E402  (the book's one list of profiles)


def toc_files(toc_path: Path) -> list[str]:
    """Every file named in the table of contents, in reading order (without suffix); a ``glob`` entry is
    expanded against the files beside the table of contents (e.g. the generated API pages of a stage)."""
    toc = yaml.safe_load(toc_path.read_text())
    files = [toc["root"]]
    base = toc_path.parent

    def walk(entries):
        for entry in entries or []:
            if "file" in entry:
                files.append(entry["file"])
            if "glob" in entry:
                found = sorted({p.with_suffix("").relative_to(base).as_posix()
                                for suffix in (".md", ".ipynb") for p in base.glob(entry["glob"] + suffix)})
                files.extend(f for f in found if f not in files)
            walk(entry.get("sections"))
            walk(entry.get("chapters"))

    for part in toc.get("parts", []):
        walk(part.get("chapters"))
    walk(toc.get("chapters"))
    return files


def _toc_notebooks() -> list[Path]:
    return [ROOT / f"{f}.ipynb" for f in toc_files(ROOT / "_toc.yml") if (ROOT / f"{f}.ipynb").exists()]


def chapter_notebooks(only: list[str] | None = None) -> list[Path]:
    """The chapters (notebooks of the table of contents under ``chapters/``), in reading order; with
    ``only``, just those (chapter or page names, checked against both)."""
    notebooks = [p for p in _toc_notebooks() if p.parent.name == "chapters"]
    if only:
        known = {p.stem for p in _toc_notebooks()}
        unknown = set(only) - known
        if unknown:
            raise SystemExit(f"--only: unknown chapter(s) {sorted(unknown)}; allowed: {', '.join(sorted(known))}")
        notebooks = [p for p in notebooks if p.stem in only]
    return notebooks


def page_notebooks(only: list[str] | None = None) -> list[Path]:
    """The other executed pages of the table of contents (notebooks outside ``chapters/``, e.g. the
    "Bring your own runs" page): executed like a chapter, but they decide no claims."""
    pages = [p for p in _toc_notebooks() if p.parent.name != "chapters"]
    return [p for p in pages if p.stem in only] if only else pages


#: The API reference: one generated page per public module of the library, under library/api/ of the stage.
API_FOLDER = "library/api"


def public_modules() -> list[str]:
    """Every public module of ``scalinglab`` (no ``_private`` part, no ``__main__``), generic ones first."""
    import pkgutil

    import scalinglab

    names = [m.name for m in pkgutil.walk_packages(scalinglab.__path__, "scalinglab.")
             if not any(part.startswith("_") for part in m.name.split("."))]
    return sorted(names, key=lambda n: (".experiments" in n, n))


def write_api_pages(stage: Path) -> list[str]:
    """Write ``library/api/<module>.md`` into the stage: the module's docstring and members (Sphinx
    autodoc), one page per public module. Returns the module names."""
    folder = stage / API_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    modules = public_modules()
    for name in modules:
        kind = "chapter module" if ".experiments." in name else "library module"
        (folder / f"{name}.md").write_text("\n".join([
            f"# `{name}`", "", f"*The {kind} `{name}`, generated from its docstrings.*", "",
            # autodoc writes reStructuredText (the docstrings are RST): parsed as such, not as MyST
            "```{eval-rst}", f".. automodule:: {name}", "   :members:", "   :show-inheritance:", "```", ""]))
    # the staged table of contents lists them in this order (library modules first), not by glob
    toc_path = stage / "_toc.yml"
    toc = yaml.safe_load(toc_path.read_text())

    def expand(entries):
        for entry in entries or []:
            sections = entry.get("sections") or []
            if any(s.get("glob") == f"{API_FOLDER}/*" for s in sections):
                entry["sections"] = [s for s in sections if s.get("glob") != f"{API_FOLDER}/*"] + \
                    [{"file": f"{API_FOLDER}/{name}"} for name in modules]
            expand(entry.get("sections"))
            expand(entry.get("chapters"))

    for part in toc.get("parts", []):
        expand(part.get("chapters"))
    expand(toc.get("chapters"))
    toc_path.write_text(yaml.safe_dump(toc, sort_keys=False, allow_unicode=True))
    return modules


def stage_sources() -> None:
    """Copy the book's sources into _book/ (fresh), leaving executed notebooks to be written."""
    if STAGE.exists():
        shutil.rmtree(STAGE)
    STAGE.mkdir()
    ignore = shutil.ignore_patterns("*.ipynb", ".ipynb_checkpoints", "__pycache__", "*.verdicts.json")
    for item in ROOT.iterdir():
        name = item.name
        if item.is_file() and item.suffix in (".md", ".yml", ".bib") and name not in ("README.md", "CONTRIBUTING.md"):
            shutil.copy2(item, STAGE / name)
    for folder in ("chapters", "library", "_static", "_templates", "_ext", "data", "_vendor"):
        if (ROOT / folder).is_dir():
            shutil.copytree(ROOT / folder, STAGE / folder, ignore=ignore, dirs_exist_ok=True)


def trim_staged_toc(keep: list[str]) -> None:
    """With ``--only``, drop the chapters that were not executed from the staged table of contents, so
    the book builds (with -W) with just those chapters; the repository's _toc.yml is untouched."""
    path = STAGE / "_toc.yml"
    toc = yaml.safe_load(path.read_text())

    def prune(entries):
        kept = []
        for entry in entries or []:
            name = entry.get("file")
            if name and (ROOT / f"{name}.ipynb").exists() and Path(name).name not in keep:
                continue
            for key in ("sections", "chapters"):
                if key in entry:
                    entry[key] = prune(entry[key])
            kept.append(entry)
        return kept

    for part in toc.get("parts", []):
        part["chapters"] = prune(part.get("chapters"))
    toc["parts"] = [part for part in toc.get("parts", []) if part.get("chapters")] if "parts" in toc else None
    if toc["parts"] is None:
        del toc["parts"]
    if "chapters" in toc:
        toc["chapters"] = prune(toc["chapters"])
    path.write_text("# staged by ci/build_book.py --only\n" + yaml.safe_dump(toc, sort_keys=False, allow_unicode=True))


def failing_cell_traceback(notebook: Path) -> str:
    """The error output of the first failing cell of an executed notebook, as text."""
    try:
        nb = json.loads(notebook.read_text())
    except (OSError, json.JSONDecodeError):
        return ""
    for cell in nb.get("cells", []):
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                tb = "\n".join(out.get("traceback", []))
                tb = re.sub(r"\x1b\[[0-9;]*m", "", tb)  # strip ANSI colours
                source = "".join(cell.get("source", ""))
                return f"--- failing cell ---\n{source}\n--- traceback ---\n{tb}"
    return ""


def children_cpu_s() -> float:
    """User + system CPU seconds of this process's finished children (papermill and its kernel)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def execute_chapter(src: Path, profile: str, seed: int, budget_s: float, env: dict, smoke: bool = False) -> dict:
    """Run one chapter with papermill into the stage. Returns a status record."""
    out = STAGE / src.relative_to(ROOT)
    out.parent.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "papermill", "-k", "python3", "--cwd", str(src.parent),
           "--no-progress-bar", str(src), str(out), "-p", "profile", profile, "-p", "seed", str(seed)]
    if smoke:
        cmd += ["-p", "smoke", "True"]
    print(f"[book] executing {src.relative_to(ROOT)} (profile={profile}, seed={seed}, budget {budget_s:.0f} s)",
          flush=True)
    start = time.perf_counter()
    cpu_start = children_cpu_s()
    hard_limit = budget_s * 1.5 + 60  # stop a runaway chapter; the budget itself is checked below
    try:
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=hard_limit)
        returncode, stderr = proc.returncode, proc.stderr
    except subprocess.TimeoutExpired as exc:
        returncode = -9
        stderr = (exc.stderr or b"").decode() if isinstance(exc.stderr, bytes) else (exc.stderr or "")
        stderr += f"\nkilled after {hard_limit:.0f} s"
    wall = time.perf_counter() - start
    record = {"chapter": src.stem, "wall_time_s": round(wall, 1), "cpu_time_s": round(children_cpu_s() - cpu_start, 1),
              "budget_s": budget_s, "ok": True, "error": ""}
    if returncode != 0:
        record["ok"] = False
        record["error"] = failing_cell_traceback(out) or stderr[-4000:]
        print(f"[book] FAILED {src.stem} after {wall:.0f} s\n{record['error']}", flush=True)
    elif wall > budget_s:
        record["ok"] = False
        record["error"] = f"over budget: {wall:.0f} s > {budget_s:.0f} s"
        print(f"[book] FAILED {src.stem}: {record['error']}", flush=True)
    elif src.parent.name == "chapters" and not (STAGE / src.relative_to(ROOT).parent / f"{src.stem}.verdicts.json").exists():
        record["ok"] = False
        record["error"] = "the chapter wrote no verdicts (did it call run.finish?)"
        print(f"[book] FAILED {src.stem}: {record['error']}", flush=True)
    else:
        print(f"[book] done {src.stem} in {wall:.0f} s", flush=True)
    return record


def _learning_objectives_box(source: str) -> str:
    """Turn a chapter's "**Learning objectives.** …" paragraph and its list into an admonition.

    The paragraph starts a line with ``**Learning objectives**`` (optional full stop) and ends at the
    first unindented line after its list; text before and after is kept as it is.
    """
    lines = source.split("\n")
    marker = re.compile(r"^\*\*Learning objectives\.?\*\*\s*")
    start = next((i for i, line in enumerate(lines) if marker.match(line)), None)
    if start is None:
        return source
    end, in_list = start + 1, False
    while end < len(lines):
        line = lines[end]
        if re.match(r"^\s*([-*+]|\d+[.)])\s", line):
            in_list = True
        elif line.strip() and not line.startswith((" ", "\t")) and in_list:
            break
        end += 1
    while end > start + 1 and not lines[end - 1].strip():
        end -= 1
    body = [marker.sub("", lines[start])] + lines[start + 1:end]
    box = [":::{admonition} Learning objectives", ":class: important learning-objectives", "", *body, ":::"]
    return "\n".join(lines[:start] + box + lines[end:])


def _terminal_text(text: str) -> str:
    """What a terminal shows for ``text``: a carriage return starts the line again, so each line keeps
    only what was written after its last ``\\r`` (a progress bar then appears once, in its final state)."""
    lines = []
    for line in text.split("\n"):
        line = line.rstrip("\r")
        lines.append(line.rsplit("\r", 1)[-1])
    return "\n".join(lines)


def clean_stream_outputs(nb) -> int:
    """Merge consecutive stream outputs of the same name in each code cell and apply carriage returns,
    as a notebook front end would. Returns the number of outputs removed."""
    removed = 0
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        merged = []
        for out in cell.get("outputs", []):
            if (out.get("output_type") == "stream" and merged and merged[-1].get("output_type") == "stream"
                    and merged[-1].get("name") == out.get("name")):
                merged[-1]["text"] += out["text"]
                removed += 1
            else:
                merged.append(out)
        for out in merged:
            if out.get("output_type") == "stream" and "\r" in out["text"]:
                out["text"] = _terminal_text(out["text"])
        cell["outputs"] = merged
    return removed


def decorate_chapter(executed: Path, source: Path, record: dict) -> None:
    """Add the reader furniture to an executed chapter (in the stage only; the committed notebook and
    a reader's own papermill output are untouched):

    - the learning objectives of the first Markdown cell become a highlighted box, and a "What we found"
      box (each claim in plain words with this run's verdict, from the verdict file) follows that cell;
    - papermill's injected-parameters cell is hidden (tag ``remove-cell``) and a "run profile" box
      takes its place: the parameters this page was executed with and the papermill command for both
      profiles;
    - a provenance footer (commit, profile, seed, device, wall time, library versions) from the
      chapter's verdict file ends the page;
    - stream outputs are shown as a terminal would show them (carriage returns applied), so a
      progress bar appears once, not once per refresh.
    """
    import nbformat

    if not executed.exists():
        return
    nb = nbformat.read(executed, as_version=4)
    clean_stream_outputs(nb)
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = _learning_objectives_box(cell.source)
            break
    parameters = dict(nb.metadata.get("papermill", {}).get("parameters", {}))
    chapter_path = source.relative_to(ROOT).as_posix()
    box = nbformat.v4.new_markdown_cell(run_box_markdown(source.stem, parameters, chapter_path),
                                        metadata={"tags": ["run-box"]})
    index = None
    for i, cell in enumerate(nb.cells):
        tags = cell.metadata.setdefault("tags", [])
        if "injected-parameters" in tags:
            if "remove-cell" not in tags:
                tags.append("remove-cell")
            index = i + 1
        elif "parameters" in tags and index is None:
            index = i + 1
    nb.cells.insert(index if index is not None else 1, box)
    verdicts = executed.parent / f"{source.stem}.verdicts.json"
    result = json.loads(verdicts.read_text()) if verdicts.exists() and record.get("ok") else None
    if result is not None:  # "What we found", in plain words from the verdicts, right under the introduction
        first = next(i for i, cell in enumerate(nb.cells) if cell.cell_type == "markdown")
        nb.cells.insert(first + 1, nbformat.v4.new_markdown_cell(findings_markdown(result),
                                                                 metadata={"tags": ["what-we-found"]}))
    nb.cells.append(nbformat.v4.new_markdown_cell(provenance_markdown(source.stem, result, record),
                                                  metadata={"tags": ["provenance"]}))
    if nb.nbformat_minor < 5:  # cell ids exist from nbformat 4.5 on
        for cell in nb.cells:
            cell.pop("id", None)
    nbformat.write(nb, executed)


def audit_chapters(notebooks: list[Path], profile: str, seed: int, n_sims: int, smoke: bool, env: dict) -> dict:
    """Run the simulation audit (``ci/audit.py``) of the executed chapters that declare ``WORLDS`` and write
    its numbers into each ``<chapter>.verdicts.json``: every verdict gets ``audit`` (its worlds' verdict
    frequencies, power, false-positive rate, coverage) and the record gets ``audit_meta``. Returns a record
    for ``book_run.json``: the chapters audited, the wall time and the problems against the book's bar."""
    folder = STAGE / "_audit"
    chapters = [nb.stem for nb in notebooks
                if ((STAGE / nb.relative_to(ROOT)).parent / f"{nb.stem}.verdicts.json").exists()]
    cmd = [sys.executable, str(ROOT / "ci" / "audit.py"), "--sims", str(n_sims), "--profile", profile,
           "--seed", str(seed), "--json", str(folder), "--no-fail"]
    start = time.perf_counter()
    sys.path.insert(0, str(ROOT / "ci"))
    from audit import audited_chapters

    chapters = [c for c in chapters if c in set(audited_chapters())]
    record = {"chapters": chapters, "n_sims": n_sims, "profile": profile, "problems": {}, "ok": True, "error": ""}
    if not chapters:
        return record
    cmd += ["--chapters", *chapters] + (["--smoke"] if smoke else [])
    print(f"[book] auditing {len(chapters)} chapter(s) with {n_sims} simulations per world", flush=True)
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    record["wall_time_s"] = round(time.perf_counter() - start, 1)
    if proc.returncode != 0:
        record.update(ok=False, error=(proc.stderr or proc.stdout)[-4000:])
        print(f"[book] the audit FAILED\n{record['error']}", flush=True)
        return record
    for nb in notebooks:
        if nb.stem not in chapters:
            continue
        report = json.loads((folder / f"{nb.stem}.audit.json").read_text())
        path = (STAGE / nb.relative_to(ROOT)).parent / f"{nb.stem}.verdicts.json"
        verdicts = json.loads(path.read_text())
        for v in verdicts["verdicts"]:
            if v["id"] in report["verdict_fields"]:
                v["audit"] = report["verdict_fields"][v["id"]]
        verdicts["audit_meta"] = {k: report[k] for k in ("profile", "n_sims", "seed", "wall_time_s", "problems", "worlds")}
        path.write_text(json.dumps(verdicts, indent=2))
        if report["problems"]:
            record["problems"][nb.stem] = report["problems"]
    print(f"[book] audit done in {record['wall_time_s']:.0f} s; bar not met: {sorted(record['problems']) or 'none'}",
          flush=True)
    return record


def write_syllabus_times(records: list[dict], stage: Path = None) -> None:
    """Fill the syllabus's run-time table (the marker line in ``syllabus.md``) with this build's chapter times."""
    stage = stage or STAGE
    path = stage / "syllabus.md"
    if not path.exists():
        return
    marker = "<!-- run-times: this table is generated by ci/build_book.py -->"
    rows = ["| chapter | wall time | CPU time ÷ 2 | ran |", "|---|---|---|---|"]
    for r in records:
        cpu = f"{r['cpu_time_s'] / 2:.0f} s" if r.get("cpu_time_s") is not None else "—"
        rows.append(f"| {{doc}}`chapters/{r['chapter']}` | {r['wall_time_s']:.0f} s | {cpu} | "
                    f"{'yes' if r['ok'] else 'failed in this build'} |")
    if not records:
        rows = ["No chapter was executed in this build."]
    path.write_text(path.read_text().replace(marker, "\n".join(rows)))


def build_html() -> int:
    # Start from an empty _build/html: Sphinx 7.4 does not overwrite a static file that already exists
    # there, so an edited _static/*.css would otherwise never reach the book. (The stage is fresh each
    # time, so every page is rebuilt anyway.)
    shutil.rmtree(OUTPUT / "_build" / "html", ignore_errors=True)
    cmd = [sys.executable, "-m", "jupyter_book", "build", str(STAGE), "--path-output", str(OUTPUT),
           "-W", "-n", "--keep-going"]
    jb = shutil.which("jupyter-book", path=str(Path(sys.executable).parent))
    if jb:
        cmd = [jb] + cmd[3:]
    print("[book] " + " ".join(cmd), flush=True)
    return subprocess.run(cmd).returncode


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", default="ci", choices=PROFILES)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--budget-s", type=float, default=None,
                        help="per-chapter wall-time budget in seconds (default: 300 for ci)")
    parser.add_argument("--only", nargs="*", help="execute only these chapters (e.g. 00_power_laws)")
    parser.add_argument("--skip-build", action="store_true", help="execute chapters, skip the HTML build")
    parser.add_argument("--run-store", default=None, help="run store folder (default: runs/ or $SCALINGLAB_RUN_STORE)")
    parser.add_argument("--smoke", action="store_true",
                        help="execute with -p smoke True: tiny sizes, every verdict inconclusive (a check of the "
                             "pipeline and of a profile's code path, in minutes)")
    parser.add_argument("--audit-sims", type=int, default=None,
                        help="simulations per world of each chapter's audit (default: 60; 3 with --smoke; 0 skips it)")
    parser.add_argument("--out", default=None,
                        help="put _book/ and _build/ under this folder instead of the repository root")
    args = parser.parse_args(argv)
    global STAGE, OUTPUT
    if args.out:
        OUTPUT = Path(args.out).resolve()
        STAGE = OUTPUT / "_book"
        OUTPUT.mkdir(parents=True, exist_ok=True)
    budget = args.budget_s if args.budget_s is not None else DEFAULT_BUDGET_S[args.profile]

    notebooks = chapter_notebooks(args.only)
    pages = page_notebooks(args.only)
    stage_sources()
    write_api_pages(STAGE)
    if args.only:
        trim_staged_toc([nb.stem for nb in notebooks + pages])
    env = dict(os.environ)
    env.setdefault("HF_HUB_OFFLINE", "1")
    env.setdefault("HF_DATASETS_OFFLINE", "1")
    env.setdefault("TQDM_MININTERVAL", "60")
    env.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    # Clean pages: no deprecation noise, and no "IProgress not found" from tqdm.auto without ipywidgets.
    env["PYTHONWARNINGS"] = env.get("PYTHONWARNINGS", "ignore::DeprecationWarning,ignore:IProgress not found")
    if args.run_store:
        env["SCALINGLAB_RUN_STORE"] = str(Path(args.run_store).resolve())

    total_start = time.perf_counter()
    records = []
    for nb in notebooks:
        env["SCALINGLAB_RESULTS_DIR"] = str((STAGE / nb.relative_to(ROOT)).parent)
        records.append(execute_chapter(nb, args.profile, args.seed, budget, env, smoke=args.smoke))
        decorate_chapter(STAGE / nb.relative_to(ROOT), nb, records[-1])
    page_records = []
    for nb in pages:
        env["SCALINGLAB_RESULTS_DIR"] = str((STAGE / nb.relative_to(ROOT)).parent)
        page_records.append(execute_chapter(nb, args.profile, args.seed, budget, env, smoke=args.smoke))
    total = time.perf_counter() - total_start
    audit_sims = args.audit_sims if args.audit_sims is not None else (3 if args.smoke else 60)
    audit_record = (audit_chapters(notebooks, args.profile, args.seed, audit_sims, args.smoke, env)
                    if audit_sims > 0 else {"chapters": [], "n_sims": 0, "ok": True, "problems": {}})

    results = []
    for nb in notebooks:
        path = (STAGE / nb.relative_to(ROOT)).parent / f"{nb.stem}.verdicts.json"
        if path.exists():
            results.append(json.loads(path.read_text()))
    from datetime import datetime, timezone

    runner = {"profile": args.profile, "seed": args.seed, "smoke": args.smoke, "total_wall_time_s": round(total, 1),
              "built_at": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M"),
              "chapters": records, "pages": page_records, "audit": audit_record}
    (STAGE / "book_run.json").write_text(json.dumps({"runner": runner, "results": results}, indent=2))
    write_report_card(STAGE / "report_card.md", results, runner)
    write_syllabus_times(records)
    from course_bundle import BUNDLE_NAME, build_bundle

    build_bundle(STAGE / "_static" / "course" / f"{BUNDLE_NAME}.zip")
    write_status(STAGE / "status.md", results, runner, stability=load_stability())

    failed = ([r["chapter"] for r in records + page_records if not r["ok"]]
              + ([] if audit_record["ok"] else ["(audit)"]))
    print(f"[book] executed {len(records)} chapter(s) in {total:.0f} s; failed: {failed or 'none'}", flush=True)
    code = 1 if failed else 0
    if not args.skip_build:
        build_code = build_html()
        if build_code != 0:
            print("[book] jupyter-book build failed (warnings are errors)", flush=True)
            code = 1
        else:
            print(f"[book] HTML in {OUTPUT / '_build' / 'html'}", flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
