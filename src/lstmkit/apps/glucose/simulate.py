r"""One virtual patient of the UVa/Padova type-1 diabetes simulator (``simglucose``), simulated.

The simulator (Dalla Man et al. 2014, the FDA-accepted UVa/Padova model as reimplemented in
``simglucose``) holds 30 virtual patients: ``adult#001`` .. ``adult#010``,
``adolescent#001`` .. ``adolescent#010`` and ``child#001`` .. ``child#010``. A patient is
simulated with

* a **random meal scenario** (``RandomScenario``: up to three meals and three snacks a day,
  drawn anew each midnight from the scenario's own seeded generator),
* the **basal-bolus controller** (``BBController``: the patient's steady-state basal rate, a
  bolus of ``carbs / CR + (CGM - 140) / CF`` (the correction above 150 mg/dL) at each meal),
* the **GuardianRT CGM sensor**, which samples every 5 minutes (simglucose's default Dexcom
  sensor samples every 3), with the simulator's seeded Johnson-distributed sensor noise,
* the ``Insulet`` pump.

Every 5-minute step records the CGM reading and the true (subcutaneous) blood glucose in
mg/dL, the carbohydrates eaten in grams and the insulin delivered in units during the step
that starts there. The simulation starts at midnight in the patient's steady state.

The simulator's patient reads its ~50 parameters from a pandas Series in every evaluation of
its ODE's right-hand side; :class:`_PlainParameters` holds the same numbers as plain
attributes: the same numbers, faster (docs/glucose.md).

Example::

    >>> trace = simulate_patient("adult#001", days=0.5, seed=0)
    >>> trace.cgm.shape, bool(trace.carbs.sum() > 0)
    ((144,), True)
"""

from __future__ import annotations

import logging
import warnings
import zlib
from dataclasses import dataclass
from datetime import datetime
from types import ModuleType, SimpleNamespace
from typing import Any

import numpy as np

__all__ = [
    "GROUPS",
    "PATIENTS",
    "PUMP",
    "SENSOR",
    "STEP_MINUTES",
    "PatientTrace",
    "patient_group",
    "patient_seed",
    "simglucose_modules",
    "simulate_patient",
]

#: the simulator's three groups of virtual patients, ten each
GROUPS = ("adult", "adolescent", "child")
#: the 30 virtual patients, by group
PATIENTS = tuple(f"{group}#{k:03d}" for group in GROUPS for k in range(1, 11))
#: the CGM sensor (5-minute samples) and the insulin pump
SENSOR = "GuardianRT"
PUMP = "Insulet"
#: minutes between CGM readings
STEP_MINUTES = 5
#: the simulation's start (a midnight: the meal scenario is drawn anew at each midnight)
START = datetime(2024, 1, 1)
PIP = "simglucose==0.2.11"

log = logging.getLogger("lstmkit.glucose")


@dataclass(frozen=True)
class PatientTrace:
    """What one simulated patient produced, a row per 5-minute step.

    Attributes:
        name: the virtual patient (``adult#001``).
        start: the time stamp of the first step.
        cgm: (T,) CGM readings, mg/dL.
        bg: (T,) true subcutaneous blood glucose, mg/dL.
        carbs: (T,) carbohydrates eaten during the step, g.
        insulin: (T,) insulin delivered during the step (basal and bolus), U.
    """

    name: str
    start: datetime
    cgm: np.ndarray
    bg: np.ndarray
    carbs: np.ndarray
    insulin: np.ndarray


def patient_group(name: str) -> str:
    """The group of a virtual patient: ``"adult#003"`` -> ``"adult"``."""
    group = name.split("#")[0]
    if group not in GROUPS or name not in PATIENTS:
        raise ValueError(
            f"patient: expected one of the simulator's 30 ({PATIENTS[0]} .. {PATIENTS[-1]}), got {name!r}"
        )
    return group


def patient_seed(seed: int, name: str) -> int:
    """The seed of one patient's meal scenario (its sensor noise takes the next one): a
    fixed function of the cohort's ``seed`` and the patient's name."""
    return zlib.crc32(f"{seed}/{name}".encode()) % (2**31 - 2)


def simglucose_modules() -> dict[str, ModuleType]:
    """The simulator's modules, imported quietly (the gym it imports warns of deprecations);
    an ImportError naming the package to install when it is missing."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from simglucose.actuator import pump
            from simglucose.controller import basal_bolus_ctrller
            from simglucose.patient import t1dpatient
            from simglucose.sensor import cgm
            from simglucose.simulation import env, scenario_gen
    except ImportError as exc:
        raise ImportError(
            f"glucose data are simulated with simglucose, which could not be imported ({exc}): "
            f"pip install '{PIP}' 'setuptools<81' (or `make setup`)"
        ) from exc
    return {
        "patient": t1dpatient,
        "sensor": cgm,
        "pump": pump,
        "scenario": scenario_gen,
        "controller": basal_bolus_ctrller,
        "env": env,
    }


class _PlainParameters(SimpleNamespace):
    """A patient's parameters as plain attributes (what the ODE reads), with the pandas
    Series kept for the positional reads of a reset (``iloc``)."""

    def __init__(self, series: Any) -> None:
        super().__init__(**series.to_dict())
        self._series = series

    @property
    def iloc(self) -> Any:
        return self._series.iloc


def _environment(name: str, seed: int) -> Any:
    """The simulator's environment for patient ``name``: patient, sensor, pump, meals."""
    m = simglucose_modules()
    patient = m["patient"].T1DPatient.withName(name)
    patient._params = _PlainParameters(patient._params)
    s = patient_seed(seed, name)
    sensor = m["sensor"].CGMSensor.withName(SENSOR, seed=s + 1)
    pump = m["pump"].InsulinPump.withName(PUMP)
    scenario = m["scenario"].RandomScenario(start_time=START, seed=s)
    return m["env"].T1DSimEnv(patient, sensor, pump, scenario)


def simulate_patient(name: str, days: float, seed: int) -> PatientTrace:
    """Simulate one virtual patient for ``days`` (a fraction is fine) under the basal-bolus
    controller; deterministic for a given ``seed`` and name.

    Args:
        name: one of :data:`PATIENTS`.
        days: simulated time, > 0; rounded to whole 5-minute steps.
        seed: the cohort's seed (:func:`patient_seed` derives the patient's).

    Returns:
        a :class:`PatientTrace` of ``round(days * 288)`` steps.
    """
    patient_group(name)
    steps = round(days * 24 * 60 / STEP_MINUTES)
    if steps < 1:
        raise ValueError(f"days: expected at least one 5-minute step, got {days}")
    env = _environment(name, seed)
    controller = simglucose_modules()["controller"].BBController()
    quiet = logging.getLogger("simglucose")
    level = quiet.level
    quiet.setLevel(logging.WARNING)  # the simulator logs every meal and bolus at INFO
    try:
        obs, reward, done, info = env.reset()
        for _ in range(steps):
            action = controller.policy(obs, reward, done, **info)
            obs, reward, done, info = env.step(action)
    finally:
        quiet.setLevel(level)
    per_step = float(env.sample_time)  # the recorded rates are per minute, averaged over a step
    return PatientTrace(
        name=name,
        start=START,
        cgm=np.asarray(env.CGM_hist[:steps], dtype=np.float64),
        bg=np.asarray(env.BG_hist[:steps], dtype=np.float64),
        carbs=np.asarray(env.CHO_hist[:steps], dtype=np.float64) * per_step,
        insulin=np.asarray(env.insulin_hist[:steps], dtype=np.float64) * per_step,
    )
