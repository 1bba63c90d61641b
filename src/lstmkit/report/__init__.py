"""Reports users look at: PNG plots and a self-contained HTML page per run.

:mod:`lstmkit.report.plots` draws (matplotlib, Agg backend); :mod:`lstmkit.report.html`
writes the page; :func:`lstmkit.report.html.run_folder` builds a run folder atomically.
"""
