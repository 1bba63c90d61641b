"""The architecture comparison (``lstmkit compare TASK``): the LSTM next to a GRU, an Elman RNN,
a Transformer and a TCN of the same parameter count (and each task's classical baselines; the
translation task has the two encoder-decoders lstmkit has, LSTM and Transformer), with a small
learning-rate search, several seeds, equal training budgets, and streaming latency and state
memory at batch 1.

This app is the documented exception to "apps never import each other": a comparison needs
each task's own data, models and metric, so it imports the experiments, forecasting,
classification and language apps (their library modules, never their commands); no app imports
it.

Pieces: :mod:`~lstmkit.apps.compare.base` (what a task is), :mod:`~lstmkit.apps.compare.sizing`
(equal parameter counts), the tasks (:mod:`~lstmkit.apps.compare.synthetic`,
:mod:`~lstmkit.apps.compare.series`, :mod:`~lstmkit.apps.compare.text`,
:mod:`~lstmkit.apps.compare.sentiment`, :mod:`~lstmkit.apps.compare.translation`) in
:mod:`~lstmkit.apps.compare.registry`, :mod:`~lstmkit.apps.compare.study` (rates and seeds),
:mod:`~lstmkit.apps.compare.latency`, :mod:`~lstmkit.apps.compare.report` and
:mod:`~lstmkit.apps.compare.job` (``run(CompareConfig) -> CompareResult``).
"""
