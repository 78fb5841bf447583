"""The chapter lint (``ci/chapter_lint.py``): every rule on every chapter of the table of contents, and
every rule's checker on a small synthetic notebook that breaks it (so that the lint itself can fail).

The rules are listed, with what each ignores, in the docstring of ``ci/chapter_lint.py`` and in
CONTRIBUTING.md."""

import copy
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "ci"))
import chapter_lint as lint  # noqa: E402

CHAPTERS = lint.chapters()
SLUG = "09_synthetic"

FIRST = """# A synthetic chapter

> A claim. — Someone et al. (2020), Fig. 2.

**Learning objectives.** After this chapter you can

- read a forest plot.

**Prerequisites:** chapter 00. **Time:** reading 20 min, running at `ci` about 3 min."""

PARAMETERS = '''profile = "ci"  # "ci" or "full"
seed = 0  # seeds everything
refresh = False  # retrain even if stored
smoke = False  # tiny sizes: tests the code path, decides nothing
scheduler_address = ""  # "" here, "local" a Dask LocalCluster
steps = 300  # training steps'''

SETUP = '''import numpy as np
from scalinglab import chapter, params
from scalinglab.experiments import power_laws

settings = params.select_profile(profile, power_laws.PROFILES, smoke=smoke, smoke_overrides=power_laws.SMOKE_OVERRIDES)
params.check_int("seed", seed, 0, 2**31 - 1)
params.check_scheduler_address(scheduler_address)
run = chapter.start("09_synthetic", "A synthetic chapter", profile, seed, smoke=smoke)
logit_scale = 6.0
x = np.arange(steps) * logit_scale'''

CLAIMS = """(09_synthetic-claims)=
## The claims, as data

Fixed before training; in Fig. 3 of the paper and Sec. 3.2, from 2019. GPT-2 and CIFAR-10 are names."""

PROSE = "Every model is trained for {glue:text}`steps:.0f` steps on $300$ examples, 3 seeds, with `lr = 0.25`."

EXERCISE = """## Exercises

```{exercise} Twice the steps
:label: 09_synthetic-ex-steps
**(re-run: `papermill … -p steps 600`)** Does the verdict change?
```
```{solution} 09_synthetic-ex-steps
:class: dropdown
A prediction: it does not.
```"""

PLOT = '''def panel(ax):
    ax.plot(x)


run.finish(power_laws.CLAIMS, power_laws.measure(x))'''


def good_notebook() -> dict:
    """A notebook that follows every rule; each test below breaks one."""
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                           "language": "python"}})
    nb.cells = [nbformat.v4.new_markdown_cell(FIRST),
                nbformat.v4.new_code_cell(PARAMETERS, metadata={"tags": ["parameters"]}),
                nbformat.v4.new_code_cell(SETUP, metadata={"tags": ["hide-input"]}),
                nbformat.v4.new_markdown_cell(CLAIMS),
                nbformat.v4.new_code_cell(PLOT),
                nbformat.v4.new_markdown_cell(PROSE),
                nbformat.v4.new_markdown_cell(EXERCISE)]
    return copy.deepcopy(dict(nb))


def _problems(rule: str, nb: dict) -> list[str]:
    return lint.RULES[rule](nb, SLUG)


def _replace(nb: dict, index: int, text: str) -> dict:
    nb["cells"][index]["source"] = text
    return nb


# ---- every rule on every chapter -------------------------------------------------------------------------------

@pytest.mark.parametrize("rule", sorted(lint.RULES))
@pytest.mark.parametrize("notebook", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_follows_the_rule(notebook, rule):
    problems = lint.RULES[rule](lint.load(notebook), notebook.stem)
    assert not problems, "\n".join(problems)


def test_every_rule_has_a_synthetic_breaking_test():
    tested = {name.removeprefix("test_breaks_") for name in globals() if name.startswith("test_breaks_")}
    assert tested == set(lint.RULES)


def test_the_good_synthetic_notebook_passes_every_rule():
    nb = good_notebook()
    assert {rule: _problems(rule, nb) for rule in lint.RULES} == {rule: [] for rule in lint.RULES}


# ---- each rule's checker fails on a notebook that breaks it --------------------------------------------------

def test_breaks_parameters():
    nb = good_notebook()
    computed = _replace(copy.deepcopy(nb), 1, PARAMETERS + "\nsteps = steps * 2")
    assert any("not a plain literal" in p for p in _problems("parameters", computed))
    missing = _replace(copy.deepcopy(nb), 1, PARAMETERS.replace('scheduler_address = ""', ""))
    assert any("lacks ['scheduler_address']" in p for p in _problems("parameters", missing))
    statement = _replace(copy.deepcopy(nb), 1, PARAMETERS + "\nimport os")
    assert any("not `name = literal`" in p for p in _problems("parameters", statement))
    untagged = copy.deepcopy(nb)
    untagged["cells"][1]["metadata"]["tags"] = []
    assert any("0 code cells tagged" in p for p in _problems("parameters", untagged))


def test_breaks_setup_cell():
    nb = good_notebook()
    untagged = copy.deepcopy(nb)
    untagged["cells"][2]["metadata"]["tags"] = []
    assert any("hide-input" in p for p in _problems("setup_cell", untagged))
    late = _replace(copy.deepcopy(nb), 2, SETUP.replace("params.check_scheduler_address(scheduler_address)\n", "")
                    + "\nparams.check_scheduler_address(scheduler_address)")
    assert any("check_scheduler_address before chapter.start" in p for p in _problems("setup_cell", late))
    assert any("select_profile" in p for p in
               _problems("setup_cell", _replace(copy.deepcopy(nb), 2, SETUP.replace("params.select_profile", "dict"))))


def test_breaks_claims_label():
    nb = good_notebook()
    assert _problems("claims_label", _replace(copy.deepcopy(nb), 3, CLAIMS.replace("09_synthetic-claims", "claims")))
    assert any("not right above" in p for p in
               _problems("claims_label", _replace(copy.deepcopy(nb), 3, CLAIMS.replace("## The claims, as data", "## Claims"))))


def test_breaks_exercises():
    nb = good_notebook()
    assert any("no {exercise}" in p for p in _problems("exercises", _replace(copy.deepcopy(nb), 6, "## Exercises")))
    no_solution = EXERCISE.split("```{solution}")[0]
    assert any("has no {solution}" in p for p in _problems("exercises", _replace(copy.deepcopy(nb), 6, no_solution)))
    shown = EXERCISE.replace(":class: dropdown\n", "")
    assert any("dropdown" in p for p in _problems("exercises", _replace(copy.deepcopy(nb), 6, shown)))
    unlabelled = EXERCISE.replace(":label: 09_synthetic-ex-steps", ":label: steps")
    assert any(":label:" in p for p in _problems("exercises", _replace(copy.deepcopy(nb), 6, unlabelled)))


def test_breaks_exercise_needs():
    nb = _replace(good_notebook(), 6, EXERCISE.replace("**(re-run: `papermill … -p steps 600`)** ", ""))
    assert any("does not say what it needs" in p for p in _problems("exercise_needs", nb))
    for need in ("**(page data)**", "**(library change)**"):
        ok = _replace(good_notebook(), 6, EXERCISE.replace("**(re-run: `papermill … -p steps 600`)**", need))
        assert _problems("exercise_needs", ok) == []


def test_breaks_verdicts():
    nb = good_notebook()
    local = _replace(copy.deepcopy(nb), 4, PLOT + "\nverdicts = evaluate([Claim(id='K1')], {}, profile)")
    problems = _problems("verdicts", local)
    assert any("calls Claim()" in p for p in problems) and any("calls evaluate()" in p for p in problems)
    assert any("called 0 times" in p for p in _problems("verdicts", _replace(copy.deepcopy(nb), 4, "x = 1")))


def test_breaks_local_functions():
    nb = _replace(good_notebook(), 4, PLOT + "\n\n\ndef a():\n    pass\n\n\ndef b():\n    def c():\n        pass\n")
    assert any("4 local functions" in p for p in _problems("local_functions", nb))


def test_breaks_unused_imports():
    nb = _replace(good_notebook(), 2, "import math\nimport scalinglab.fit\nfrom os import path as p\n" + SETUP)
    problems = _problems("unused_imports", nb)
    assert len(problems) == 3 and any("'math'" in p for p in problems) and any("'p'" in p for p in problems)
    used_later = copy.deepcopy(nb)
    used_later["cells"][4]["source"] = PLOT + "\n\n\nmath.pi, scalinglab.fit, p.join"
    assert _problems("unused_imports", used_later) == []


@pytest.mark.parametrize("text", ["This fixes issue 12.", "See #13.", "As the ticket said.", "As in the previous session.",
                                  "The PR added it."])
def test_breaks_development(text):
    nb = _replace(good_notebook(), 5, PROSE + " " + text)
    assert _problems("development", nb)


def test_breaks_first_cell():
    nb = good_notebook()
    no_pre = FIRST.replace("**Prerequisites:** chapter 00. ", "")
    assert any("prerequisites" in p for p in _problems("first_cell", _replace(copy.deepcopy(nb), 0, no_pre)))
    no_time = FIRST.replace("**Time:** reading 20 min, running at `ci` about 3 min.", "")
    assert any("time estimate" in p for p in _problems("first_cell", _replace(copy.deepcopy(nb), 0, no_time)))
    assert any("'# Title'" in p for p in _problems("first_cell", _replace(copy.deepcopy(nb), 0, FIRST.lstrip("# "))))


def test_breaks_outputs():
    nb = good_notebook()
    nb["cells"][2]["outputs"] = [nbformat.v4.new_output("stream", name="stdout", text="hi\n")]
    assert _problems("outputs", nb)
    nb = good_notebook()
    nb["cells"][2]["execution_count"] = 3
    assert _problems("outputs", nb)


def test_breaks_typed_numbers():
    # "softmax(6·teacher)" typed while the code says 6.0 is the classic case; 300 too (a code literal)
    nb = _replace(good_notebook(), 5, "Labels come from a logit scale of 6.0 over 300 steps and 1,000 runs.")
    problems = _problems("typed_numbers", nb)
    assert len(problems) == 2 and any("types 6.0" in p for p in problems) and any("types 300" in p for p in problems)


def test_typed_numbers_ignores_math_code_citations_years_names_and_counts():
    assert lint.prose_numbers(CLAIMS) == []
    assert lint.prose_numbers(PROSE) == []  # glue, $300$, `lr = 0.25` and a one-digit count
    assert lint.prose_numbers("1. First item\n## 2.1 Section\nSee Figs. 2–3 and Eq. 4.1, (Kaplan et al. 2020).") == []
    assert lint.prose_numbers("It takes 0.021 s and 1,000 or 1e-3 of 42.") == ["0.021", "1,000", "1e-3", "42"]


def test_breaks_figure_sizes():
    nb = good_notebook()
    wide = _replace(copy.deepcopy(nb), 4, PLOT + "\nfig, ax = plt.subplots(1, 3, figsize=(14, 4))")
    assert any("figsize width 14" in p for p in _problems("figure_sizes", wide))
    small = _replace(copy.deepcopy(nb), 4, PLOT + "\nax.legend(fontsize=7.5)\nax.tick_params(labelsize='x-small')")
    found = _problems("figure_sizes", small)
    assert any("fontsize=7.5" in p for p in found) and any("labelsize='x-small'" in p for p in found)
