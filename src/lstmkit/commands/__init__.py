"""Subcommands of the ``lstmkit`` CLI, one module each (see :mod:`lstmkit.cli`)."""
