"""The chapter lint: the shape CONTRIBUTING.md asks of every chapter, checked on the committed notebook.

    .venv/bin/python ci/chapter_lint.py                 # every chapter of _toc.yml; exit 1 on a problem

Used by ``tests/test_chapter_lint.py`` (one test per rule, parametrised over the chapters, and one test
per rule on a small synthetic notebook that breaks it). Each ``check_*`` function takes a notebook (the
JSON as a dict) and its slug and returns a list of problems (empty: the rule holds). The rules:

- ``parameters``: exactly one code cell tagged ``parameters``; it only assigns plain literals
  (``ast.literal_eval`` accepts the value) to single names, and assigns ``profile``, ``seed``,
  ``refresh``, ``smoke`` and ``scheduler_address``;
- ``setup_cell``: the code cell after the parameters cell is tagged ``hide-input`` (or
  ``remove-input``) and calls ``select_profile`` and ``check_scheduler_address`` before ``chapter.start``
  (every parameter is checked before anything is trained);
- ``claims_label``: a Markdown cell has the label ``(<slug>-claims)=`` right above the heading
  ``## The claims, as data`` ("claim" for a chapter with one claim);
- ``exercises``: at least one ``{exercise}`` block; each has a ``:label:`` starting ``<slug>-ex-`` and
  a ``{solution}`` for that label with ``:class: dropdown``;
- ``exercise_needs``: the first line of every exercise's body says what it needs: ``(page data)``,
  ``(re-run`` … (with the command) or ``(library change)``;
- ``verdicts``: the notebook calls ``run.finish`` once and never builds a ``Claim``, ``Measurement``
  or ``Precondition`` nor calls ``judge`` / ``evaluate`` (claims and measurements are the experiment
  module's ``CLAIMS`` and ``measure``);
- ``local_functions``: at most three ``def`` statements in the notebook's code cells (plot helpers);
- ``unused_imports``: every name a code cell imports is used somewhere in the notebook's code;
- ``development``: Markdown never mentions issues, tickets, pull requests, ``#<number>`` or "the
  previous session" (readers see the book, not how it was made);
- ``first_cell``: the first cell is Markdown with a ``# Title``, a prerequisites line
  (``**Prerequisites**``…) and a time estimate (a line with "time" and a number of minutes or hours);
- ``outputs``: every code cell has no outputs and ``execution_count`` None (committed unexecuted);
- ``figure_sizes``: no figure wider than ``scalinglab.plotting.MAX_WIDTH_IN`` (a literal ``figsize=(w, h)``)
  and no text asked smaller than the theme's ``plotting.MIN_FONT_PT`` (``fontsize=`` / ``labelsize=`` below
  it, or ``"small"``, ``"x-small"``, ``"xx-small"``, ``"smaller"``): at the page's width a figure is shown
  at ≥ 1/1.3 of its size, so that its smallest text stays ≥ 9 pt (``ci/browser_check.py`` measures it);
- ``typed_numbers``: a number typed in Markdown prose that is also a numeric literal in the code cells
  is flagged: it should be glued (``chapter.glue`` + ``{glue:text}``). Ignored: numbers inside math
  (``$…$``), inline code, roles and directive/label lines; years (1900–2099); numbers right after a
  citation word (Fig., Figure, Table, Sec., Section, Eq., Equation, App., Appendix, Chapter, Ch., §,
  Algorithm, arXiv, Experiment, Exercise) and the rest of a dotted section number; numbers joined to a
  word by a hyphen (GPT-2, CIFAR-10, 2-digit); ordered-list markers and numbered headings; and one-digit
  whole numbers (0–9, counts such as "3 seeds", too common in code and prose alike to tell apart).
  Values are compared as numbers (``1,000`` = ``1000`` = ``1e3``).
  ``TYPED_NUMBER_ALLOW`` (empty) may list, per chapter, numbers a chapter must type (say why there).
"""

from __future__ import annotations

import ast
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REQUIRED_PARAMETERS = ("profile", "seed", "refresh", "smoke", "scheduler_address")
MAX_LOCAL_FUNCTIONS = 3
DECIDING = {"Claim", "Measurement", "Precondition", "judge", "evaluate"}  # not called in a notebook
NEEDS = ("(page data)", "(re-run", "(library change)")
DEVELOPMENT = re.compile(r"\bissues?\b|\btickets?\b|\bpull requests?\b|\bPRs?\b|#\d+\b|previous session", re.I)
#: Numbers a chapter has to type in its prose although they are code literals, per slug: {slug: {"6.0"}}.
TYPED_NUMBER_ALLOW: dict[str, set[str]] = {}


# ---- notebook access ---------------------------------------------------------------------------------------

def load(path: Path) -> dict:
    return json.loads(Path(path).read_text())


def source(cell: dict) -> str:
    s = cell.get("source", "")
    return "".join(s) if isinstance(s, list) else s


def code_cells(nb: dict) -> list[dict]:
    return [c for c in nb["cells"] if c["cell_type"] == "code"]


def markdown_cells(nb: dict) -> list[dict]:
    return [c for c in nb["cells"] if c["cell_type"] == "markdown"]


def python_source(cell: dict) -> str:
    """A code cell's source with IPython magics and shell lines blanked (so ``ast`` can parse it)."""
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source(cell).split("\n"))


def parse_code(nb: dict) -> list[ast.Module]:
    return [ast.parse(python_source(c)) for c in code_cells(nb)]


# ---- the rules ----------------------------------------------------------------------------------------------

def check_parameters(nb: dict, slug: str) -> list[str]:
    cells = [c for c in code_cells(nb) if "parameters" in c.get("metadata", {}).get("tags", [])]
    if len(cells) != 1:
        return [f"{slug}: {len(cells)} code cells tagged 'parameters' (want exactly 1)"]
    problems, names = [], set()
    for node in ast.parse(python_source(cells[0])).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            target, value = node.targets[0].id, node.value
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
            target, value = node.target.id, node.value
        else:
            problems.append(f"{slug}: the parameters cell has a statement that is not `name = literal` "
                            f"(line {node.lineno}: {ast.unparse(node)[:60]})")
            continue
        try:
            ast.literal_eval(value)
        except ValueError:
            problems.append(f"{slug}: parameter {target!r} is not a plain literal ({ast.unparse(value)[:60]})")
        names.add(target)
    missing = [n for n in REQUIRED_PARAMETERS if n not in names]
    if missing:
        problems.append(f"{slug}: the parameters cell lacks {missing}")
    return problems


def check_setup_cell(nb: dict, slug: str) -> list[str]:
    cells = code_cells(nb)
    index = next((i for i, c in enumerate(cells) if "parameters" in c.get("metadata", {}).get("tags", [])), None)
    if index is None or index + 1 >= len(cells):
        return [f"{slug}: no code cell after the parameters cell"]
    cell = cells[index + 1]
    text, problems = python_source(cell), []
    tags = cell.get("metadata", {}).get("tags", [])
    if not {"hide-input", "remove-input"} & set(tags):
        problems.append(f"{slug}: the setup cell after the parameters is not tagged 'hide-input' (it is plumbing)")
    start = text.find("start(")
    for call in ("select_profile(", "check_scheduler_address("):
        at = text.find(call)
        if at < 0 or (start >= 0 and at > start):
            problems.append(f"{slug}: the setup cell does not call {call[:-1]} before chapter.start")
    if start < 0:
        problems.append(f"{slug}: the setup cell does not call chapter.start")
    return problems


def check_claims_label(nb: dict, slug: str) -> list[str]:
    label = f"({slug}-claims)="
    for cell in markdown_cells(nb):
        lines = [line.strip() for line in source(cell).split("\n")]
        if label in lines:
            after = [line for line in lines[lines.index(label) + 1:] if line]
            if after and re.fullmatch(r"## The claims?, as data", after[0]):
                return []
            return [f"{slug}: {label} is not right above '## The claims, as data' (found {after[:1]})"]
    return [f"{slug}: no {label} label (the report card links each claim there)"]


def _directives(nb: dict, name: str) -> list[tuple[str, list[str], str]]:
    """Every ``{name}`` directive in the Markdown (backtick or colon fences): (argument, option lines, body)."""
    found = []
    pattern = re.compile(r"^(?P<fence>`{3,}|:{3,})\{" + name + r"\}(?P<arg>[^\n]*)\n(?P<body>.*?)^(?P=fence)\s*$",
                         re.M | re.S)
    for cell in markdown_cells(nb):
        for m in pattern.finditer(source(cell)):
            lines = m.group("body").split("\n")
            options = []
            while lines and lines[0].startswith(":"):
                options.append(lines.pop(0))
            found.append((m.group("arg").strip(), options, "\n".join(lines)))
    return found


def _option(options: list[str], key: str) -> str | None:
    for line in options:
        m = re.match(rf":{key}:\s*(.*)", line)
        if m:
            return m.group(1).strip()
    return None


def check_exercises(nb: dict, slug: str) -> list[str]:
    exercises, solutions = _directives(nb, "exercise"), _directives(nb, "solution")
    if not exercises:
        return [f"{slug}: no {{exercise}} block"]
    problems = []
    solved = {arg: options for arg, options, _ in solutions}
    for title, options, _ in exercises:
        label = _option(options, "label")
        if not label or not label.startswith(f"{slug}-ex-"):
            problems.append(f"{slug}: exercise {title!r} has no :label: starting '{slug}-ex-' (got {label!r})")
            continue
        if label not in solved:
            problems.append(f"{slug}: exercise {label} has no {{solution}}")
        elif _option(solved[label], "class") != "dropdown":
            problems.append(f"{slug}: the solution of {label} is not ':class: dropdown'")
    return problems


def check_exercise_needs(nb: dict, slug: str) -> list[str]:
    problems = []
    for title, options, body in _directives(nb, "exercise"):
        first = next((line for line in body.split("\n") if line.strip()), "")
        if not any(need in first.lower() for need in NEEDS):
            label = _option(options, "label") or title
            problems.append(f"{slug}: exercise {label}'s first line does not say what it needs "
                            f"({', '.join(NEEDS)}): {first[:60]!r}")
    return problems


def check_verdicts(nb: dict, slug: str) -> list[str]:
    calls = [n.func for tree in parse_code(nb) for n in ast.walk(tree) if isinstance(n, ast.Call)]
    names = [f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", "") for f in calls]
    problems = [f"{slug}: the notebook calls {name}(): claims, measurements and verdicts belong in the "
                "experiment module (CLAIMS, measure) and run.finish" for name in sorted(set(names) & DECIDING)]
    finish = sum(isinstance(f, ast.Attribute) and f.attr == "finish" for f in calls)
    if finish != 1:
        problems.append(f"{slug}: run.finish is called {finish} times (want once, in the Verdicts section)")
    return problems


def check_local_functions(nb: dict, slug: str) -> list[str]:
    defs = [n.name for tree in parse_code(nb) for n in ast.walk(tree)
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
    if len(defs) > MAX_LOCAL_FUNCTIONS:
        return [f"{slug}: {len(defs)} local functions {defs} (at most {MAX_LOCAL_FUNCTIONS}: plot helpers; "
                "the rest belongs in scalinglab.experiments)"]
    return []


def check_unused_imports(nb: dict, slug: str) -> list[str]:
    trees = parse_code(nb)
    imported: dict[str, str] = {}
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    imported[alias.asname or alias.name.split(".")[0]] = alias.name
            elif isinstance(node, ast.ImportFrom) and node.module != "__future__":
                for alias in node.names:
                    if alias.name != "*":
                        imported[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    used = {n.id for tree in trees for n in ast.walk(tree) if isinstance(n, ast.Name)}
    return [f"{slug}: `{full}` is imported as {name!r} but never used" for name, full in imported.items()
            if name not in used]


def check_development(nb: dict, slug: str) -> list[str]:
    problems = []
    for cell in markdown_cells(nb):
        for m in DEVELOPMENT.finditer(source(cell)):
            text = source(cell)
            problems.append(f"{slug}: reader-facing text mentions the book's development: "
                            f"…{text[max(0, m.start() - 40):m.end() + 40]!r}…")
    return problems


def check_first_cell(nb: dict, slug: str) -> list[str]:
    if not nb["cells"] or nb["cells"][0]["cell_type"] != "markdown":
        return [f"{slug}: the first cell is not Markdown"]
    text = source(nb["cells"][0])
    problems = []
    if not re.match(r"#\s+\S", text.lstrip()):
        problems.append(f"{slug}: the first cell does not start with '# Title'")
    if not re.search(r"prerequisite", text, re.I):
        problems.append(f"{slug}: the first cell has no prerequisites line")
    if not re.search(r"(?im)^.*\btime\b.*\d+\s*(min|minutes?|h|hours?)\b", text):
        problems.append(f"{slug}: the first cell has no time estimate (a line with 'time' and minutes or hours)")
    return problems


def check_outputs(nb: dict, slug: str) -> list[str]:
    dirty = [i for i, c in enumerate(nb["cells"]) if c["cell_type"] == "code"
             and (c.get("outputs") or c.get("execution_count") is not None)]
    return [f"{slug}: code cells {dirty} have outputs or an execution count (commit notebooks unexecuted)"] if dirty else []


# ---- typed numbers --------------------------------------------------------------------------------------------

# a number standing on its own: not part of a word or a hyphenated name (GPT-2, CIFAR-10, 2-digit, top-1)
_NUMBER = re.compile(r"(?<![\w.,^-])[-−]?\d{1,3}(?:,\d{3})+(?:\.\d+)?(?![\w-])"
                     r"|(?<![\w.,^-])[-−]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?(?![\w-])")
_CITE = (r"(?:\b(?:Fig|Figs|Figure|Figures|Table|Tab|Sec|Section|Eq|Eqs|Equation|App|Appendix|Chapter|Ch|"
         r"Algorithm|Alg|arXiv|Experiment|Exercise)\.?|§)")
# right after a citation word, or after a cited number and a separator ("Figs. 2–3", "Eqs. 4, 5")
_CITATION = re.compile(_CITE + r"\s*\(?(?:\d+(?:\.\d+)*\s*[.,–-]\s*)?$", re.I)


_SMALL_FONTS = {"small", "x-small", "xx-small", "smaller"}


def check_figure_sizes(nb: dict, slug: str) -> list[str]:
    from scalinglab.plotting import MAX_WIDTH_IN, MIN_FONT_PT

    problems = []
    for tree in parse_code(nb):
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            for kw in node.keywords:
                if kw.arg == "figsize" and isinstance(kw.value, ast.Tuple) and kw.value.elts:
                    first = kw.value.elts[0]
                    if isinstance(first, ast.Constant) and isinstance(first.value, (int, float)) \
                            and first.value > MAX_WIDTH_IN:
                        problems.append(f"{slug}: figsize width {first.value} in > {MAX_WIDTH_IN} in (line {node.lineno}): "
                                        "at the page's width the figure would be shrunk by more than 1.3×")
                if kw.arg in ("fontsize", "labelsize", "title_fontsize") and isinstance(kw.value, ast.Constant):
                    v = kw.value.value
                    small = (isinstance(v, (int, float)) and not isinstance(v, bool) and v < MIN_FONT_PT) or \
                        (isinstance(v, str) and v in _SMALL_FONTS)
                    if small:
                        problems.append(f"{slug}: {kw.arg}={v!r} (line {node.lineno}) is below the theme's "
                                        f"{MIN_FONT_PT:g} pt: text must stay readable at the page's width")
    return problems


def prose(markdown: str) -> str:
    """The prose of a Markdown cell: without math, code, roles, directive fences and options, labels,
    HTML tags, link targets and ordered-list markers (each replaced by a space)."""
    text = re.sub(r"^(`{3,}|:{3,})[^\n]*$", " ", markdown, flags=re.M)  # fence lines
    text = re.sub(r"^\s*:\w[\w-]*:.*$", " ", text, flags=re.M)  # directive options
    text = re.sub(r"^\([^)\n]+\)=\s*$", " ", text, flags=re.M)  # labels
    text = re.sub(r"\$\$.*?\$\$", " ", text, flags=re.S)
    text = re.sub(r"(?<!\\)\$[^$\n]+\$", " ", text)
    text = re.sub(r"\{[\w:-]+\}`[^`]*`", " ", text)  # roles, {glue:text}`x:.3f` included
    text = re.sub(r"`[^`\n]*`", " ", text)
    text = re.sub(r"<[^>\n]+>", " ", text)
    text = re.sub(r"\]\([^)\n]*\)", "] ", text)  # link targets
    text = re.sub(r"\[\^[^\]]*\]", " ", text)  # footnote references
    text = re.sub(r"^\s*\d+[.)]\s", " ", text, flags=re.M)  # ordered lists
    text = re.sub(r"^(#+)\s+\d+(\.\d+)*\.?\s", r"\1 ", text, flags=re.M)  # numbered headings
    return text


def _value(token: str) -> float:
    return float(token.replace(",", "").replace("−", "-"))


def prose_numbers(markdown: str) -> list[str]:
    """The numbers typed in a Markdown cell's prose, after the exclusions of the module docstring."""
    text = prose(markdown)
    found = []
    for m in _NUMBER.finditer(text):
        token = m.group(0)
        before = text[max(0, m.start() - 14):m.start()]
        if _CITATION.search(before):
            continue  # a citation ("Fig. 1", "Sec. 3.2", "Figs. 2–3")
        value = _value(token)
        if re.fullmatch(r"\d{4}", token) and 1900 <= value <= 2099:
            continue  # a year
        if re.fullmatch(r"[-−]?\d", token):
            continue  # a one-digit count ("3 seeds", "clipping at 1"): too common in code and prose alike
        found.append(token)
    return found


def code_literals(nb: dict) -> dict[float, list[str]]:
    """Every numeric literal in the code cells, by value, with how the code writes it."""
    literals: dict[float, list[str]] = {}
    for cell in code_cells(nb):
        text = python_source(cell)
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.Constant) and type(node.value) in (int, float):
                written = ast.get_source_segment(text, node) or repr(node.value)
                literals.setdefault(float(node.value), []).append(written)
    return literals


def check_typed_numbers(nb: dict, slug: str) -> list[str]:
    literals = code_literals(nb)
    allowed = TYPED_NUMBER_ALLOW.get(slug, set())
    problems = []
    for cell in markdown_cells(nb):
        for token in prose_numbers(source(cell)):
            value = _value(token)
            if token in allowed or value not in literals:
                continue
            problems.append(f"{slug}: the prose types {token}, which the code has as a literal "
                            f"({', '.join(sorted(set(literals[value])))}): glue it instead")
    return problems


RULES = {name.removeprefix("check_"): fn for name, fn in dict(globals()).items()
         if name.startswith("check_") and callable(fn)}


def chapters() -> list[Path]:
    """The chapter notebooks of the table of contents, in reading order."""
    sys.path.insert(0, str(ROOT / "ci"))
    from build_book import chapter_notebooks

    return chapter_notebooks()


def lint(path: Path) -> list[str]:
    nb, slug = load(path), Path(path).stem
    return [p for rule in RULES.values() for p in rule(nb, slug)]


def main(argv=None) -> int:
    paths = [Path(p) for p in (argv if argv is not None else sys.argv[1:])] or chapters()
    problems = [p for path in paths for p in lint(path)]
    for p in problems:
        print(p)
    print(f"[lint] {len(paths)} notebook(s), {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
