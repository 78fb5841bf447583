"""The chapters' checked exercises, offline: each chapter's own exercise cells (solutions and checks) run on
results simulated by its module (``simulate`` in the paper world, then the chapter's ``analyse``), and every
reference solution must pass its Otter-Grader check while a blank and a plausible wrong answer fail it.
The end-to-end build checks the same on the real runs (``tests/test_book.py``)."""

import types
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest

from scalinglab import audit, exercises

ROOT = Path(__file__).resolve().parents[1]
CHECKED = sorted(p.name for p in (ROOT / "chapters" / "checks").iterdir() if p.is_dir())


def _env_00(seed):
    from scalinglab.experiments import power_laws as pl

    settings = audit.audit_settings(pl, "ci")
    n_params, window_losses, _ = pl.simulate(pl.WORLDS["paper"], settings, seed)
    means = window_losses.mean(axis=(0, 2))
    return {"power_laws": pl, "n_params": n_params, "window_losses": window_losses,
            "point": pl.extrapolation_test(n_params, means), "saturating": pl.saturating_extrapolation(n_params, means)}


def _env_01(seed):
    from scalinglab.experiments import emergence as em

    settings = audit.audit_settings(em, "ci")
    data = em.simulate(em.WORLDS["paper"], settings, seed)
    mean = lambda rows: np.mean(rows, axis=(0, 1))  # noqa: E731 — (replicates, problems, sizes) -> (sizes,)
    by_size = pd.DataFrame({"N": data.N, "exact_match": mean(data.em), "edit_similarity": mean(data.similarity),
                            "sequence_prob": mean(data.sequence_prob), "token_log_loss": mean(data.loss)})
    return {"em": em, "settings": settings, "N": np.asarray(data.N, float), "by_size": by_size}


def _env_02(seed):
    from scalinglab.experiments import inverse_scaling as inv

    settings = audit.audit_settings(inv, "ci")
    observed = inv.simulate(inv.WORLDS["paper"], settings, seed)
    shares = sorted(observed["imitation"]["share"].unique())
    return {"inverse_scaling": inv, "items": observed["items"], "imitation": observed["imitation"],
            "R_mid": inv.middle_dose(settings), "top_share": inv.TOP_SHARE,
            "imitator": inv.imitation_loss_bounds(shares)}


def _env_03(seed):
    from scalinglab.experiments import data_pruning as dp

    settings = audit.audit_settings(dp, "ci")
    nets = dp.simulate(dp.WORLDS["paper"], settings, seed)["nets"]
    return {"dp": dp, "nets": nets, "budgets": dp.budget_comparison(nets)}


def _env_04(seed):
    from scalinglab.experiments import critical_batch as cb

    settings = audit.audit_settings(cb, "ci")
    table = cb.simulate(cb.WORLDS["paper"], settings, seed)["table"]
    return {"critical_batch": cb, "table": table, "fit_table": cb.fit_frame(table), "steps": cb.steps_frame(table)}


def _env_05(seed):
    from scalinglab.experiments import compute_optimal as co

    settings = audit.audit_settings(co, "ci")
    table = co.simulate(co.WORLDS["paper"], settings, seed)
    return {"co": co, "table": table, "a2": co.analyse_grid(table, settings, seed).approach2}


def _env_06(seed):
    from scalinglab.experiments import knowledge_capacity as kc

    settings = audit.audit_settings(kc, "ci")
    table = kc.simulate(kc.WORLDS["paper"], settings, seed)
    return {"kc": kc, "table": table, "plateau": kc.plateau_table(table),
            "measured": kc.analyse(table, settings, seed)}


def _env_07(seed):
    from scalinglab.experiments import lr_schedules as ls

    settings = audit.audit_settings(ls, "ci")
    observed = ls.simulate(ls.WORLDS["paper"], settings, seed)
    return {"ls": ls, "settings": settings, "curves": observed["curves"], "finals": ls.finals_table(observed["curves"])}


ENVS = {"00_power_laws": _env_00, "01_emergence": _env_01, "02_inverse_scaling": _env_02, "03_data_pruning": _env_03,
        "04_critical_batch": _env_04, "05_compute_optimal": _env_05, "06_knowledge_capacity": _env_06,
        "07_lr_schedules": _env_07}


def exercise_cells(slug):
    """The notebook's code cells from the one that makes the grader to the last check."""
    nb = nbformat.read(ROOT / "chapters" / f"{slug}.ipynb", as_version=4)
    code = [c.source for c in nb.cells if c.cell_type == "code"]
    start = next(i for i, s in enumerate(code) if "exercises.Grader(" in s)
    return code[start:]


def test_every_checked_chapter_has_an_offline_environment():
    assert CHECKED, "no chapter has checked exercises"
    assert set(CHECKED) <= set(ENVS), f"add an environment for {sorted(set(CHECKED) - set(ENVS))}"


@pytest.mark.parametrize("slug", CHECKED)
def test_reference_solutions_pass_and_blank_and_wrong_answers_fail(slug, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # Otter keeps a log in the working directory
    monkeypatch.setenv("SCALINGLAB_RESULTS_DIR", str(tmp_path))
    glued = {}
    env = {"np": np, "pd": pd, "chapter": types.SimpleNamespace(glue=lambda k, v, display=False: glued.update({k: v})),
           **ENVS[slug](seed=3)}
    for source in exercise_cells(slug):
        exec(compile(source, f"<{slug} exercise cell>", "exec"), env)
    grader = env["grader"]
    assert isinstance(grader, exercises.Grader) and grader.chapter == slug
    assert sorted(grader.record) == grader.names() and len(grader.names()) >= 3, grader.record
    for name, entry in grader.record.items():
        assert entry == {"passed": True, "blank_fails": True, "wrong_fails": True}, (slug, name, entry)
    assert all(np.isfinite(v) for v in glued.values() if isinstance(v, float)), glued
