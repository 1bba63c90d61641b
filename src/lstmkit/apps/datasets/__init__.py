"""The catalogue of bundled real datasets (shared by the apps) and ``lstmkit data``."""
