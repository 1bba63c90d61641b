"""Data: real bundled datasets, synthetic benchmark tasks, windowing, text, augmentation.

Kept light on purpose: import the submodule you need, e.g.
``from lstmkit.data.synthetic import AddingProblem`` or ``from lstmkit.data import augment``;
heavy dependencies (pandas, statsmodels, ...) are imported only by the modules that use them.
"""

# Time series containers (NumPy at import; pandas only when a constructor runs).
from lstmkit.data.timeseries import TimeSeries, from_csv, from_pandas

__all__ = ["TimeSeries", "from_csv", "from_pandas"]
