"""Bookkeeping of one chapter's execution: provenance, verdict file, glued numbers.

A chapter calls :func:`start` right after its parameters are checked and
:meth:`ChapterRun.finish` at the end with its claims and what it measured. ``finish`` decides every
claim (:func:`scalinglab.claims.evaluate`), writes ``<chapter>.verdicts.json`` into
``$SCALINGLAB_RESULTS_DIR`` (the book's runner points it beside the executed notebook) or the
working directory, and glues, for each claim, ``<ID>_verdict``, ``<ID>_reason``, ``<ID>_estimate``,
``<ID>_lo`` and ``<ID>_hi`` for the prose. The report card, the status page and the stability tool
read these files.

Used by: every chapter; read by ``ci/build_book.py``.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from . import __version__
from .claims import Claim, Measurement, evaluate, verdicts_table


class Text:
    """A string glued without quotes: its plain-text repr is the text itself."""

    def __init__(self, text: str):
        self.text = text

    def __repr__(self) -> str:
        return self.text


def glue(name: str, value, display: bool = False) -> None:
    """``myst_nb.glue`` when running in a kernel; a no-op elsewhere (e.g. in tests)."""
    try:
        from myst_nb import glue as _glue
    except ImportError:  # pragma: no cover - myst_nb is a book dependency
        return
    if isinstance(value, str):
        value = Text(value)
    elif hasattr(value, "item") and getattr(value, "shape", None) == ():
        # NumPy 2 scalars print as 'np.float64(…)', which {glue:text}`name:.3f` cannot format.
        value = value.item()
    _glue(name, value, display=display)


def git_commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                             timeout=10, cwd=Path(__file__).resolve().parent)
        commit = out.stdout.strip() or "unknown"
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10,
                               cwd=Path(__file__).resolve().parent).stdout.strip()
        return commit + ("+dirty" if dirty and commit != "unknown" else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def device_description() -> str:
    """Where the chapter trained, as used: the GPU, or the CPU's cores and how a sweep spreads over them
    (one single-thread worker process per core, :func:`scalinglab.devices.cpu_process_pool`)."""
    import torch

    from .devices import available_cores

    if torch.cuda.is_available():
        return f"cuda: {torch.cuda.get_device_name(0)}"
    cores = available_cores()
    layout = (f"sweeps on {cores} single-thread worker processes" if cores > 1 else "sweeps in one process")
    return (f"cpu: {platform.processor() or platform.machine()}, {cores} core{'s' if cores != 1 else ''} "
            f"({layout}; {torch.get_num_threads()} thread{'s' if torch.get_num_threads() != 1 else ''} in the notebook)")


def library_versions() -> dict:
    import importlib.metadata as md

    names = ["torch", "numpy", "scipy", "pandas", "datasets", "seaborn", "matplotlib"]
    versions = {"python": platform.python_version(), "scalinglab": __version__}
    for name in names:
        try:
            versions[name] = md.version(name)
        except md.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


@dataclass
class ChapterRun:
    chapter: str
    title: str
    profile: str
    seed: int
    started: float = field(default_factory=time.perf_counter)
    started_at: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds"))
    extra: dict = field(default_factory=dict)

    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    smoke: bool = False

    def provenance(self) -> dict:
        from .devices import configure_threads

        configure_threads()
        from .runs import work_summary

        return {"commit": git_commit(), "profile": self.profile, "seed": self.seed, "smoke": self.smoke,
                "device": device_description(), "wall_time_s": round(self.elapsed(), 1),
                "started_at": self.started_at, "versions": library_versions(), "work": self._work(work_summary()),
                **self.extra}

    @staticmethod
    def _work(work: dict) -> dict:
        """The sweeps' work with the fp32 matmul peak of one thread of this machine (each CPU worker runs one)."""
        from .devices import default_device, matmul_flops_per_s

        device = default_device().type
        return {**work, "peak_flops_per_s": matmul_flops_per_s(device, 1 if device == "cpu" else None),
                "peak_threads": 1 if device == "cpu" else None}

    def results_path(self) -> Path:
        folder = Path(os.environ.get("SCALINGLAB_RESULTS_DIR", "."))
        return folder / f"{self.chapter}.verdicts.json"

    def finish(self, claims: list[Claim], measured: dict[str, Measurement]):
        """Decide every claim, write the verdict file, glue the verdicts, return the verdict table."""
        verdicts = evaluate(claims, measured, self.profile, smoke=self.smoke)
        record = {"chapter": self.chapter, "title": self.title, "profile": self.profile,
                  "seed": self.seed, "smoke": self.smoke, "verdicts": [v.to_dict() for v in verdicts],
                  "provenance": self.provenance()}
        path = self.results_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(record, indent=2))
        os.replace(tmp, path)
        for v in verdicts:
            glue(f"{v.id}_verdict", v.verdict)
            glue(f"{v.id}_reason", v.reason)
            glue(f"{v.id}_estimate", v.estimate)
            glue(f"{v.id}_lo", v.interval[0])
            glue(f"{v.id}_hi", v.interval[1])
        glue(f"{self.chapter}_wall_time_s", record["provenance"]["wall_time_s"])
        self.verdicts = verdicts
        return verdicts_table(verdicts)


def start(chapter: str, title: str, profile: str, seed: int, smoke: bool = False) -> ChapterRun:
    """Begin the chapter's clock (call after the parameters are checked). ``smoke=True`` marks a run
    whose sizes and steps were capped to exercise the code path: its verdicts are all inconclusive."""
    import pandas as pd

    from .devices import configure_threads

    configure_threads()
    # Claims, criteria and reasons are shown whole: pandas would cut every cell at 50 characters.
    pd.set_option("display.max_colwidth", None)
    return ChapterRun(chapter=chapter, title=title, profile=profile, seed=seed, smoke=smoke)
