"""``lstmkit experiment``, ``tune`` and ``demo``."""
