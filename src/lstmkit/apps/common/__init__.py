"""What the apps share, and the only module of :mod:`lstmkit.apps` every app may import.

It imports :mod:`lstmkit.core`, :mod:`lstmkit.fit`, :mod:`lstmkit.io` and :mod:`lstmkit.explain`, never an
app:

* :mod:`lstmkit.apps.common.options`: the command-line options every command repeats
  (``--out``/``--overwrite``, ``--device``, ``--seed``, ``--no-progress``), for the
  ``command`` modules;
* :mod:`lstmkit.apps.common.reports`: what a job does with its run folder (the checks made
  before the work, the page and metrics written after it);
* :mod:`lstmkit.apps.common.gates`: the report section of the gates of a trained network's
  first LSTM layer (saturation per unit and heatmaps, :mod:`lstmkit.explain.gates`);
* :mod:`lstmkit.apps.common.bundled`: data files inside installed packages and the
  :class:`~lstmkit.apps.common.bundled.DatasetInfo` each app gives its bundled datasets.
"""
