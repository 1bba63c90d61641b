"""A tiny simulated cohort, made once per test session: the first patient of each group, one day."""

from __future__ import annotations

from pathlib import Path

import pytest

from lstmkit.apps.glucose.data import cohort_patients, load_traces

TINY_DAYS = 1.0


@pytest.fixture(scope="session")
def tiny_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cache folder holding adult#001, adolescent#001 and child#001, one day, seed 0 (~6 s)."""
    folder = tmp_path_factory.mktemp("glucose-cache")
    load_traces(cohort_patients(1), TINY_DAYS, 0, cache=folder, progress=False)
    return folder
