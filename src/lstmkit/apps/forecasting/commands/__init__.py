"""``lstmkit run`` and ``lstmkit forecast``."""
