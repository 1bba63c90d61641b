"""Speech: spoken digits synthesized by espeak-ng (:mod:`lstmkit.apps.speech.data`), a torch-only
front end (:mod:`lstmkit.apps.speech.features`), an LSTM + CTC recognizer
(:mod:`lstmkit.apps.speech.estimator`) that also streams (:mod:`lstmkit.apps.speech.streaming`);
``lstmkit speech train|transcribe|stream`` (:mod:`lstmkit.apps.speech.job`)."""
