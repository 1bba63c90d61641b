"""Video: moving-digit data (:mod:`lstmkit.apps.video.data`), generated offline; the task models
(:mod:`lstmkit.apps.video.estimator`: ``VideoPredictor``, ``VideoClassifier``;
:mod:`lstmkit.apps.video.anomaly`: ``VideoAnomalyDetector``) on the networks of
:mod:`lstmkit.apps.video.model`; ``lstmkit video predict|classify|detect``
(:mod:`lstmkit.apps.video.job`)."""
