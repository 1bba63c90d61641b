"""Input and output shared by every part of lstmkit: atomic files, run folders, safe tables.

* :mod:`lstmkit.io.atomic`: files written atomically (:func:`atomic_write_bytes`,
  :func:`atomic_save`) and checks that an output path can be written before long work.
* :mod:`lstmkit.io.runfolder`: run folders built aside and swapped in, replacing only folders
  lstmkit made.
* :mod:`lstmkit.io.tables`: CSV files safe to open in a spreadsheet.
"""

from lstmkit.io.atomic import (
    atomic_save,
    atomic_write_bytes,
    atomic_write_text,
    check_output_file,
    check_writable_folder,
    new_file_mode,
)

__all__ = [
    "atomic_save",
    "atomic_write_bytes",
    "atomic_write_text",
    "check_output_file",
    "check_writable_folder",
    "new_file_mode",
]
