"""Music: Bach chorales as piano rolls from music21's corpus (:mod:`lstmkit.apps.music.data`),
the polyphonic LSTM (:mod:`lstmkit.apps.music.estimator`: ``ChoraleLSTM``, on the network of
:mod:`lstmkit.apps.music.model`), counting baselines, frame metrics, MIDI files; ``lstmkit
music train|generate`` (:mod:`lstmkit.apps.music.job`)."""
