"""Glucose forecasting on simulated type-1 diabetes patients (the UVa/Padova simulator):
a cohort (:mod:`.data`), the Clarke error grid (:mod:`.clarke`), persistence and ARIMA
(:mod:`.baselines`), the job (:mod:`.job`) and its report and command.

It is built on the forecasting app, the one app it imports (its series, global Forecaster
and ARIMA search); no app imports it."""
