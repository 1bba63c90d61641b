"""Video: moving-digit data (:mod:`lstmkit.apps.video.data`), generated offline."""
