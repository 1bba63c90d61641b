"""``lstmkit textgen``, ``sentiment`` and ``translate``."""
