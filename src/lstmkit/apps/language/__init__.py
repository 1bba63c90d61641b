"""Language: tokenizers, corpora, language models, sentiment, translation."""
