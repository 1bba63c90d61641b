"""The experiments of the LSTM papers, the demo and hyperparameter tuning on them."""
