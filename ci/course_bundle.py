"""The course bundle: one download with everything a class needs to run the book's chapters.

    .venv/bin/python ci/course_bundle.py --out _build/scaling-laws-course.zip

The zip holds

- ``student/`` — every chapter (and the "Bring your own runs" page) as a student notebook: the
  ``{solution}`` blocks of the exercises removed, and each code cell tagged ``solution`` replaced by the
  blank answers it assigned (``ex1 = ...  # your answer``); the checks (``grader.check("ex1", …)``) stay;
- ``teacher/`` — the same notebooks with their solutions (the book's own notebooks, without outputs);
- ``chapters/checks/`` — the Otter-Grader tests of the exercises (:mod:`scalinglab.exercises`);
- ``lib/scalinglab/``, ``data/``, ``pyproject.toml``, ``requirements.in``, ``constraints.txt`` — the
  library, its data and the pins;
- ``setup.sh`` and a ``README.md`` with the two commands (set up once; run a chapter).

``ci/build_book.py`` builds it into the book (``_static/course/``), linked from the front page and the
syllabus; ``tests/test_course_bundle.py`` unpacks it into an empty folder, runs its set-up and one chapter
at ``-p smoke True``.
"""

from __future__ import annotations

import argparse
import re
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "ci"))

BUNDLE_NAME = "scaling-laws-course"
_FENCE = re.compile(r"^(\s*)(`{3,}|:{3,})\{solution\}")
_ASSIGNMENT = re.compile(r"^([A-Za-z_]\w*)\s*=(?!=)")

SETUP = """#!/usr/bin/env bash
# Set up once: a virtual environment with the pinned packages and the scalinglab library.
set -euo pipefail
cd "$(dirname "$0")"
PYTHON=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -c constraints.txt -r requirements.in
.venv/bin/python -m pip install -q --disable-pip-version-check --no-deps -e .
echo "[setup] ready: .venv/bin/jupyter lab student/   or   .venv/bin/papermill -k python3 student/<chapter>.ipynb out.ipynb"
"""

README = """# Scaling Laws, Reproduced — the course bundle

Every chapter of the book as a notebook you can run on a laptop (two CPU cores, a few minutes each at the
`ci` profile), with the library behind it. Python 3.10 or newer.

```bash
bash setup.sh                                                          # once: .venv with the pinned packages
.venv/bin/papermill -k python3 student/00_power_laws.ipynb out.ipynb   # run a chapter (or open it in Jupyter)
```

- `student/` — the chapters with the exercises' solutions removed. Where an exercise asks you to assign
  your answer to a variable (`ex1 = ...`), `grader.check("ex1", globals())` says at once whether it is
  right, using the numbers of *your* run; the other exercises are compared with the teacher's solutions.
- `teacher/` — the same chapters with the solutions.
- `chapters/checks/` (where present) — the checked exercises' tests (Otter-Grader's format: a teacher can
  grade a class's notebooks with `otter grade`).
- `-p smoke True` runs a chapter's code with tiny sizes in under a minute (it decides nothing);
  `-p profile full` runs it at paper-like scale on a GPU.

The book itself (with the verdicts of every chapter, the report card and the syllabus) is the HTML this
bundle was downloaded from.
"""


def student_markdown(source: str) -> str:
    """Markdown without its ``{solution}`` blocks (backtick or colon fences)."""
    out, fence = [], None
    for line in source.split("\n"):
        if fence is None:
            m = _FENCE.match(line)
            if m:
                fence = m.group(2)
                continue
            out.append(line)
        elif line.strip() == fence:
            fence = None
    text = "\n".join(out)
    return re.sub(r"\n{3,}", "\n\n", text).strip("\n")


def student_code(source: str) -> str:
    """A solution cell's blank version: each top-level assignment becomes ``name = ...  # your answer``."""
    names = [m.group(1) for line in source.split("\n") if (m := _ASSIGNMENT.match(line))]
    if not names:
        return "# your answer here"
    seen = list(dict.fromkeys(names))
    return "\n".join(f"{n} = ...  # your answer" for n in seen)


def student_notebook(nb):
    """A copy of ``nb`` (nbformat) for students: solutions out, outputs cleared."""
    import copy

    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = student_markdown(cell.source)
        elif cell.cell_type == "code":
            if "solution" in cell.metadata.get("tags", []):
                cell.source = student_code(cell.source)
                cell.metadata["tags"] = [t for t in cell.metadata["tags"] if t not in ("solution", "hide-input")]
            cell.outputs, cell.execution_count = [], None
    return nb


def bundle_notebooks(root: Path = ROOT) -> list[Path]:
    """The notebooks of the table of contents (chapters and executed pages), in reading order."""
    from build_book import toc_files

    return [root / f"{f}.ipynb" for f in toc_files(root / "_toc.yml") if (root / f"{f}.ipynb").exists()]


def build_bundle(out: Path, root: Path = ROOT) -> Path:
    """Write the course bundle zip to ``out`` and return it."""
    import nbformat

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    prefix = BUNDLE_NAME
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as z:
        def add(path: Path, arcname: str):
            z.write(path, f"{prefix}/{arcname}")

        z.writestr(f"{prefix}/README.md", README)
        info = zipfile.ZipInfo(f"{prefix}/setup.sh")
        info.external_attr = 0o755 << 16
        z.writestr(info, SETUP)
        for name in ("pyproject.toml", "requirements.in", "constraints.txt"):
            add(root / name, name)
        for folder in ("lib/scalinglab", "data", "chapters/checks"):
            for path in sorted((root / folder).rglob("*")):
                if path.is_file() and "__pycache__" not in path.parts and path.suffix not in (".pyc",):
                    add(path, path.relative_to(root).as_posix())
        for path in bundle_notebooks(root):
            nb = nbformat.read(path, as_version=4)
            for cell in nb.cells:
                if cell.cell_type == "code":
                    cell.outputs, cell.execution_count = [], None
            z.writestr(f"{prefix}/teacher/{path.name}", nbformat.writes(nb))
            z.writestr(f"{prefix}/student/{path.name}", nbformat.writes(student_notebook(nb)))
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=str(ROOT / "_build" / f"{BUNDLE_NAME}.zip"))
    args = parser.parse_args(argv)
    path = build_bundle(Path(args.out))
    print(f"[bundle] {path} ({path.stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
