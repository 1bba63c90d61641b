"""Sequence classification: LSTM-FCN and (bi)LSTM classifiers, ``lstmkit classify``."""
