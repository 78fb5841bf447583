"""Your own runs: the table checks (row and column named), the fits with jackknife intervals, the command."""

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from scalinglab import cli, runtable

ROOT = __import__("pathlib").Path(__file__).resolve().parents[1]


def _grid(world, seed=0, sizes=(1e6, 3e6, 1e7, 3e7, 1e8), multipliers=(5, 10, 20, 40, 80)):
    design = pd.DataFrame([{"N": n, "D": n * m} for n in sizes for m in multipliers])
    return runtable.simulate_table(world, design, seed)


HOFFMANN = runtable.LawWorld(E=1.69, A=406.4, B=410.7, alpha=0.34, beta=0.28, sigma=0.01)


def test_load_runs_names_the_row_and_column_of_a_bad_value(tmp_path):
    good = _grid(HOFFMANN)
    path = tmp_path / "runs.csv"
    good.drop(columns=["D"]).to_csv(path, index=False)
    with pytest.raises(runtable.RunTableError, match=r"no column 'D'.*needs N, D, loss"):
        runtable.load_runs(path, "chinchilla")
    bad = good.copy()
    bad.loc[6, "loss"] = -1.0
    with pytest.raises(runtable.RunTableError, match=r"row 7, column 'loss': -1.0 must be positive"):
        runtable.load_runs(bad, "chinchilla")
    bad = good.astype({"N": object})
    bad.loc[2, "N"] = "big"
    with pytest.raises(runtable.RunTableError, match=r"row 3, column 'N': 'big' is not a finite number"):
        runtable.load_runs(bad, "chinchilla")
    with pytest.raises(runtable.RunTableError, match=r"3 row\(s\); the chinchilla law .* needs at least 8"):
        runtable.load_runs(good.head(3), "chinchilla")
    with pytest.raises(runtable.RunTableError, match="law must be one of"):
        runtable.load_runs(good, "kaplan")
    with pytest.raises(runtable.RunTableError, match="no such file"):
        runtable.load_runs(tmp_path / "missing.csv")
    renamed = good.rename(columns={"N": "params"})
    assert list(runtable.load_runs(renamed, rename={"params": "N"}).columns) == ["N", "D", "loss"]


def test_chinchilla_fit_recovers_the_law_within_its_interval():
    frame = runtable.load_runs(_grid(HOFFMANN, seed=1))
    fit = runtable.fit_law(frame, "chinchilla")
    assert fit.grouped_by == "N" and fit.groups == 5 and fit.rows == 25
    lo, hi = fit.intervals["a"]
    assert lo < HOFFMANN.beta / (HOFFMANN.alpha + HOFFMANN.beta) < hi
    assert abs(fit.estimates["a"] - 0.452) < 0.05
    assert fit.rmse_log < 0.02
    assert set(fit.table().index) == {"E", "A", "B", "alpha", "beta", "a"}


def test_power_fit_groups_by_seed_when_given():
    rng = np.random.default_rng(2)
    rows = [{"N": n, "loss": (2.0 + 30 * n ** -0.3) * np.exp(rng.normal(0, 0.005)), "seed": s}
            for s in range(4) for n in np.geomspace(1e3, 1e6, 6)]
    fit = runtable.fit_law(runtable.load_runs(pd.DataFrame(rows), "power", group="seed"), "power")
    assert fit.grouped_by == "group" and fit.groups == 4
    lo, hi = fit.intervals["alpha"]
    assert lo < fit.estimates["alpha"] < hi and abs(fit.estimates["alpha"] - 0.3) < 0.1
    with pytest.raises(runtable.RunTableError, match="at least 3 groups"):
        runtable.fit_law(runtable.load_runs(pd.DataFrame(rows[:12]), "power", group="seed"), "power")


def test_the_command_fits_and_refuses_a_malformed_table(tmp_path, capsys):
    path = tmp_path / "runs.csv"
    _grid(HOFFMANN, seed=3).rename(columns={"N": "params", "D": "tokens"}).to_csv(path, index=False)
    assert cli.main(["fit", str(path), "--column", "N=params", "--column", "D=tokens", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["law"] == "chinchilla" and out["intervals"]["a"][0] < out["estimates"]["a"] < out["intervals"]["a"][1]
    assert cli.main(["fit", str(path)]) == 2
    assert "no column 'N'" in capsys.readouterr().err
    proc = subprocess.run([sys.executable, "-m", "scalinglab", "fit", "--help"], capture_output=True, text=True,
                          cwd=ROOT)
    assert proc.returncode == 0 and "--law" in proc.stdout and "jackknife" in proc.stdout
