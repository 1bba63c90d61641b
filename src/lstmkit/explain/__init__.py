"""Interpretability (docs/interpretability.md): what a trained network looks at and what its units do.

* gate traces: ``lstm(x, return_gates=True)`` (:class:`lstmkit.core.layers.GateTrace`), their
  saturation statistics and heatmaps (:mod:`lstmkit.explain.gates`);
* interpretable units: cells whose activation tracks a named property of the input
  (:mod:`lstmkit.explain.units`);
* attributions with captum: integrated gradients and occlusion over time steps and input
  channels, permutation importance (:mod:`lstmkit.explain.attributions`).

A tier beside :mod:`lstmkit.export` and :mod:`lstmkit.compress`: it knows the core, io and fit
tiers and no application; the applications use it for their own models.
"""
