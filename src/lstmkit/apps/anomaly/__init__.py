"""Anomaly detection in signals, ``lstmkit detect``."""
