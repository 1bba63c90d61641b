"""What lstmkit is for: one package per task, each with its data, model, estimator, job and
command.

Apps import :mod:`lstmkit.core`, :mod:`lstmkit.fit` and :mod:`lstmkit.io`, and never each other,
except the documented shared module :mod:`lstmkit.apps.datasets` (the catalogue of bundled
datasets, which every app and ``lstmkit data`` read).
"""
