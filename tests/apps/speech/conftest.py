"""Shared fixtures of the speech tests: a small synthesized corpus (espeak-ng), cached per session."""

from __future__ import annotations

import shutil

import pytest

from lstmkit.apps.speech import data


@pytest.fixture(scope="session")
def speech_cache(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(tmp_path_factory.mktemp("speech-cache"))


@pytest.fixture(scope="session")
def tiny_train(speech_cache: str) -> data.SpeechCorpus:
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed (apt-get install espeak-ng)")
    return data.load_corpus("train", 160, 0, seed=3, cache=speech_cache)


@pytest.fixture(scope="session")
def tiny_test(speech_cache: str) -> data.SpeechCorpus:
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed (apt-get install espeak-ng)")
    return data.load_corpus("test", 40, 4, seed=3, cache=speech_cache)
