"""What lstmkit is for: one package per task, each with its data, model, estimator, job and
command.

* :mod:`lstmkit.apps.forecasting`, :mod:`lstmkit.apps.classification`,
  :mod:`lstmkit.apps.anomaly`, :mod:`lstmkit.apps.language`, :mod:`lstmkit.apps.experiments`:
  the apps. Each keeps its library (data, model, estimator, baselines, ``job`` modules: a
  ``run(config) -> result`` per command) apart from its ``command`` modules, which only parse
  arguments and call a job. Nothing in the library imports a command.
* :mod:`lstmkit.apps.common`: the one shared module. It imports :mod:`lstmkit.core`,
  :mod:`lstmkit.fit` and :mod:`lstmkit.io`, never an app: the options every command shares, the
  run-folder steps of a job, and the files and descriptions of bundled datasets.
* :mod:`lstmkit.apps.datasets`: the catalogue of the bundled datasets (``lstmkit data``). It
  imports the apps, which own their datasets and loaders, to list them; no app imports it.

Apps import :mod:`lstmkit.core`, :mod:`lstmkit.fit`, :mod:`lstmkit.io` and
:mod:`lstmkit.apps.common`, and never each other.
"""
