"""Checking a chapter's parameters before any training starts.

Every chapter has one ``parameters`` cell of plain literals (papermill overrides them). The cell
below it calls these functions, so that a typo fails at once with a message that names the
parameter and the values it accepts.

Used by: every chapter.
"""

from __future__ import annotations


class ParameterError(ValueError):
    """A chapter parameter has a value it does not accept."""


def check_choice(name: str, value, allowed) -> None:
    allowed = tuple(allowed)
    if value not in allowed:
        shown = ", ".join(repr(a) for a in allowed)
        raise ParameterError(f"parameter {name!r} must be one of {shown}; got {value!r}")


def check_int(name: str, value, low: int | None = None, high: int | None = None) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ParameterError(f"parameter {name!r} must be an integer; got {value!r}")
    if (low is not None and value < low) or (high is not None and value > high):
        lo = "-inf" if low is None else low
        hi = "inf" if high is None else high
        raise ParameterError(f"parameter {name!r} must be an integer in [{lo}, {hi}]; got {value!r}")


def check_number(name: str, value, low: float | None = None, high: float | None = None) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ParameterError(f"parameter {name!r} must be a number; got {value!r}")
    if (low is not None and value < low) or (high is not None and value > high):
        raise ParameterError(f"parameter {name!r} must be a number in [{low}, {high}]; got {value!r}")


def check_bool(name: str, value) -> None:
    if not isinstance(value, bool):
        raise ParameterError(f"parameter {name!r} must be True or False; got {value!r}")


def check_scheduler_address(value) -> None:
    """``scheduler_address``: ``""`` (run here), ``"local"`` (a Dask LocalCluster) or ``"tcp://host:port"``."""
    if not isinstance(value, str) or not (value in ("", "local") or "://" in value):
        raise ParameterError("parameter 'scheduler_address' must be '' (run here), 'local' (a Dask LocalCluster) "
                             f"or a scheduler address such as 'tcp://10.0.0.5:8786'; got {value!r}")


def select_profile(profile: str, settings: dict[str, dict], smoke: bool = False,
                   smoke_overrides: dict | None = None) -> dict:
    """The settings of ``profile`` (a copy), after checking it is one the chapter defines.

    The chapter defines exactly the book's profiles (``scalinglab.claims.PROFILES``). With
    ``smoke=True`` the ``smoke_overrides`` (small sizes and step counts) replace the profile's values,
    so that a test can run the ``full`` code path on a CPU in seconds; such a run decides nothing.
    """
    from .claims import PROFILES

    if set(settings) != set(PROFILES):
        raise ValueError(f"a chapter's profile table must define exactly {PROFILES}, got {sorted(settings)}")
    check_choice("profile", profile, PROFILES)
    check_bool("smoke", smoke)
    chosen = dict(settings[profile])
    if smoke:
        unknown = set(smoke_overrides or {}) - set(chosen)
        if unknown:
            raise ValueError(f"smoke overrides name settings the profile lacks: {sorted(unknown)}")
        chosen.update(smoke_overrides or {})
    return chosen
