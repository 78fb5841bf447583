"""A toy chapter for tests/test_audit.py's worker-pool test (importable by name in a spawned process)."""

from dataclasses import dataclass

import numpy as np

from scalinglab.audit import World
from scalinglab.claims import Claim, Measurement, at_least
from scalinglab.intervals import t_interval

PROFILES = {"ci": {"n_seeds": 3}, "full": {"n_seeds": 10}}


@dataclass(frozen=True, kw_only=True)
class MeanWorld(World):
    mu: float
    sigma: float = 0.3


CLAIMS = [Claim(id="T1", statement="the mean is large", source="toy", statistic="mean", interval="t over seeds",
                criterion=at_least(0.5), headline=True, method="seed_t", rivals=("null",))]
WORLDS = {"paper": MeanWorld(mu=1.5, description="mean 1.5"), "null": MeanWorld(mu=0.0, description="mean 0")}


def simulate(world, settings, seed):
    return np.random.default_rng(seed).normal(world.mu, world.sigma, settings["n_seeds"])


def analyse(values, settings, seed):
    return {"T1": Measurement(float(values.mean()), t_interval(values), list(range(len(values))))}


def truth(world, settings):
    return {"T1": world.mu}
