"""Input and output shared by every part of lstmkit: atomic files, run folders, safe tables.

* :mod:`lstmkit.io.atomic`: files written atomically (:func:`atomic_write_bytes`,
  :func:`atomic_save`) and checks that an output path can be written before long work.
* :mod:`lstmkit.io.runfolder`: run folders built aside and swapped in, replacing only folders
  lstmkit made.
* :mod:`lstmkit.io.tables`: CSV files safe to open in a spreadsheet.

The package re-exports the API of :mod:`lstmkit.io.atomic` (its ``__all__``).
"""

from lstmkit.io.atomic import *  # noqa: F403  (the package's API is lstmkit.io.atomic's)
from lstmkit.io.atomic import __all__ as __all__
