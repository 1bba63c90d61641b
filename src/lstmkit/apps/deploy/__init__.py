"""Deployment of saved models: ``lstmkit export`` and ``lstmkit compress``.

A catalogue over the apps (like :mod:`lstmkit.apps.datasets`): it imports them to read their
model files (:mod:`~lstmkit.apps.deploy.models`); no app imports it.

* :func:`lstmkit.apps.deploy.models.load_model`: any lstmkit model file (and the compressed
  files ``lstmkit compress`` writes) as networks, with the app's model holding them;
* :func:`lstmkit.apps.deploy.job.export`: ONNX files or ``torch.export`` programs, a JSON sidecar;
* :func:`lstmkit.apps.deploy.compress.compress`: int8 quantization, pruning, distillation.
"""
