"""Named seed streams: stable, independent across names, checked inputs."""

import pytest

from scalinglab.seeds import derive_seed, generator


def test_streams_are_stable_and_distinct():
    a = derive_seed(0, "init", 0)
    assert a == derive_seed(0, "init", 0)
    others = {derive_seed(0, "init", 1), derive_seed(0, "data", 0), derive_seed(1, "init", 0), derive_seed(0, "init")}
    assert a not in others and len(others) == 4
    assert 0 <= a < 2**31
    assert generator(5, "x").random() == generator(5, "x").random()


def test_bad_inputs_are_rejected():
    with pytest.raises(ValueError):
        derive_seed(-1, "init")
    with pytest.raises(TypeError):
        derive_seed(0, 1.5)
    with pytest.raises(TypeError):
        derive_seed(0, True)
