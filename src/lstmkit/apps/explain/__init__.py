"""``lstmkit explain``: what a saved model looks at and what its LSTM does, for every model kind.

A catalogue like :mod:`lstmkit.apps.deploy` (it reads every app's model file through
:func:`lstmkit.apps.deploy.models.load_model`, and no app imports it): :mod:`.kinds` says, per
kind, which inputs to explain and which of the app's explanations to draw; :mod:`.job` writes the
page ``runs/<name>/explain.html``; :mod:`.command` parses the arguments.
"""
