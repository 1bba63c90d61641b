"""The simulated cohort: determinism per seed, the cache, the series, one-line errors."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from lstmkit.apps.glucose import data, simulate
from lstmkit.apps.glucose.data import KNOWN_FUTURE, cohort_patients, load_cohort, load_traces
from lstmkit.apps.glucose.simulate import PATIENTS, patient_group, simglucose_modules, simulate_patient

from .conftest import TINY_DAYS


def test_the_cohort_has_ten_patients_per_group_in_group_order() -> None:
    assert len(PATIENTS) == 30 and {patient_group(p) for p in PATIENTS} == {"adult", "adolescent", "child"}
    assert cohort_patients(2) == (
        "adult#001",
        "adolescent#001",
        "child#001",
        "adult#002",
        "adolescent#002",
        "child#002",
    )


def test_a_seed_gives_the_same_trace_and_another_seed_another() -> None:
    a = simulate_patient("adolescent#003", 0.1, seed=5)
    b = simulate_patient("adolescent#003", 0.1, seed=5)
    c = simulate_patient("adolescent#003", 0.1, seed=6)
    assert len(a.cgm) == 29 and np.array_equal(a.cgm, b.cgm) and np.array_equal(a.insulin, b.insulin)
    assert not np.array_equal(a.cgm, c.cgm)  # the sensor noise follows the seed
    assert np.array_equal(a.bg, c.bg)  # no meal yet in the first 2.4 hours: the same physiology


def test_plain_parameters_give_the_simulators_right_hand_side() -> None:
    m = simglucose_modules()["patient"]
    patient = m.T1DPatient.withName("child#002")
    series = patient._params
    plain = simulate._PlainParameters(series)
    x = np.asarray(series.iloc[2:15], dtype=np.float64) * 1.1
    for action in (m.Action(CHO=0.0, insulin=0.02), m.Action(CHO=8.0, insulin=1.5)):
        expected = m.T1DPatient.model(30.0, x, action, series, 5000.0, 40.0)
        assert np.array_equal(m.T1DPatient.model(30.0, x, action, plain, 5000.0, 40.0), expected)
    assert plain.iloc[0] == series.iloc[0]


def test_the_cache_round_trip_reads_what_was_simulated(tiny_cache, monkeypatch) -> None:
    names = {f.name.split("_")[0] for f in tiny_cache.glob("*_1d_seed0_*.npz")}
    assert names == {"adolescent-001", "adult-001", "child-001"}
    first = load_traces(["child#001"], TINY_DAYS, 0, cache=tiny_cache, progress=False)[0]

    def no_simulation(*args, **kwargs):
        raise AssertionError("simulated again instead of reading the cache")

    monkeypatch.setattr(data, "simulate_patient", no_simulation)
    again = load_traces(["child#001"], TINY_DAYS, 0, cache=tiny_cache, progress=False)[0]
    for field in ("cgm", "bg", "carbs", "insulin"):
        assert np.array_equal(getattr(first, field), getattr(again, field))
    assert again.name == "child#001" and again.start == first.start
    with pytest.raises(AssertionError, match="simulated again"):  # another seed is another file
        load_traces(["child#001"], TINY_DAYS, 1, cache=tiny_cache, progress=False)


def test_a_day_of_a_patient_has_meals_insulin_and_plausible_glucose(tiny_cache) -> None:
    trace = load_traces(["adult#001"], TINY_DAYS, 0, cache=tiny_cache, progress=False)[0]
    assert len(trace.cgm) == 288
    assert 20 <= trace.carbs.sum() <= 500 and (trace.carbs > 0).sum() >= 2
    assert 5 <= trace.insulin.sum() <= 200
    assert trace.cgm.min() >= 39 and trace.cgm.max() <= 600 and np.ptp(trace.cgm) > 30


def test_the_series_hold_the_cgm_meals_insulin_and_the_time_of_day(tiny_cache) -> None:
    cohort = load_cohort(cohort_patients(1), TINY_DAYS, 0, cache=tiny_cache, progress=False)
    s = cohort[2]
    assert s.name == "child#001" and len(s) == 288 and str(s.index[1] - s.index[0]) == "0 days 00:05:00"
    past, future = s.past_covariates, s.future_covariates
    assert past is not None and future is not None
    assert s.past_covariate_names == ("carbs_g", "insulin_U") and past.shape == (288, 2)
    assert np.array_equal(past[:, 0], load_traces(["child#001"], TINY_DAYS, 0, cache=tiny_cache)[0].carbs)
    assert future.shape == (288 + KNOWN_FUTURE, 2) and np.allclose(future[:, 0] ** 2 + future[:, 1] ** 2, 1)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: cohort_patients(0), r"--patients: expected patients per group, an int in 1..10, got 0"),
        (lambda: cohort_patients(11), r"--patients: .* got 11"),
        (
            lambda: load_traces(["adult#011"], 1, cache=""),
            r"patient: expected one of the simulator's 30 .* got 'adult#011'",
        ),
        (lambda: load_traces(["adult#001"], 0, cache=""), r"--days: expected a positive number .* got 0"),
        (
            lambda: simulate_patient("child#001", 0.001, 0),
            r"days: expected at least one 5-minute step, got 0.001",
        ),
    ],
)
def test_one_line_errors(call, message) -> None:
    with pytest.raises(ValueError, match=message) as info:
        call()
    assert "\n" not in str(info.value)


def test_a_missing_simulator_names_what_to_install(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "simglucose.actuator", None)
    with pytest.raises(ImportError, match=r"pip install 'simglucose==0.2.11' 'setuptools<81'") as info:
        simglucose_modules()
    assert "\n" not in str(info.value)
