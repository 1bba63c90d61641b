"""Forecasting: series, windows, the LSTM forecaster, baselines, ``lstmkit run`` and ``forecast``."""
