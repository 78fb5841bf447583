"""The course bundle: student notebooks without solutions, teacher notebooks with them, the library and
the pins; unpacked into an empty folder, its set-up and one chapter run (``slow``: a fresh venv)."""

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "ci"))
import course_bundle  # noqa: E402

MD = """Text before.

```{solution} ch-ex-one
:class: dropdown
The answer is 42.
```

Text after.

:::{solution} ch-ex-two
:class: dropdown
Also hidden.
:::
"""


def test_student_markdown_drops_solutions_and_keeps_the_rest():
    out = course_bundle.student_markdown(MD)
    assert "42" not in out and "Also hidden" not in out and "{solution}" not in out
    assert out.startswith("Text before.") and "Text after." in out


def test_student_code_blanks_every_answer():
    assert course_bundle.student_code("x = table['N'].max()\nex1 = float(x) / 2\nex1 += 0") == \
        "x = ...  # your answer\nex1 = ...  # your answer"
    assert course_bundle.student_code("print(1)") == "# your answer here"


def test_the_bundle_holds_both_editions_the_library_and_the_pins(tmp_path):
    path = course_bundle.build_bundle(tmp_path / "bundle.zip")
    with zipfile.ZipFile(path) as z:
        names = set(z.namelist())
        prefix = course_bundle.BUNDLE_NAME
        for required in ("README.md", "setup.sh", "constraints.txt", "requirements.in", "pyproject.toml",
                         "lib/scalinglab/__init__.py", "lib/scalinglab/exercises.py", "data/corpora.json"):
            assert f"{prefix}/{required}" in names, required
        notebooks = [p.name for p in course_bundle.bundle_notebooks()]
        for nb in notebooks:
            assert f"{prefix}/student/{nb}" in names and f"{prefix}/teacher/{nb}" in names
            student = json.loads(z.read(f"{prefix}/student/{nb}"))
            text = json.dumps(student)
            assert "{solution}" not in text, nb
            assert not any("solution" in c.get("metadata", {}).get("tags", []) for c in student["cells"]), nb
        assert not any("__pycache__" in n for n in names)
        readme = z.read(f"{prefix}/README.md").decode()
        assert "bash setup.sh" in readme and "papermill -k python3 student/" in readme


@pytest.mark.slow
def test_the_bundle_sets_up_and_runs_a_chapter_in_an_empty_folder(tmp_path):
    path = course_bundle.build_bundle(tmp_path / "bundle.zip")
    with zipfile.ZipFile(path) as z:
        z.extractall(tmp_path / "class")
    folder = tmp_path / "class" / course_bundle.BUNDLE_NAME
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "SCALINGLAB_RUN_STORE")}
    env.update(HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1")
    setup = subprocess.run(["bash", "setup.sh"], cwd=folder, env=env, capture_output=True, text=True, timeout=1800)
    assert setup.returncode == 0, setup.stderr[-3000:]
    run = subprocess.run([str(folder / ".venv/bin/papermill"), "-k", "python3", "--cwd", str(folder / "student"),
                          str(folder / "student/04_critical_batch.ipynb"), str(tmp_path / "out.ipynb"),
                          "-p", "profile", "full", "-p", "smoke", "True"],
                         cwd=folder, env=env, capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stderr[-3000:]
    probe = subprocess.run([str(folder / ".venv/bin/python"), "-c", "import scalinglab; print(scalinglab.__file__)"],
                           cwd=folder, env=env, capture_output=True, text=True)
    assert str(folder) in probe.stdout, "the bundle's own library is the one imported"
