"""The Greff et al. variant study's pieces: paired draws, test windows, trials that learn, the
statistics of the analysis."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from lstmkit.apps.experiments.greff import (
    GREFF_VARIANTS,
    CharLMTask,
    ClassificationTask,
    Hyperparameters,
    NextStepTask,
    PianoRollTask,
    clipped,
    main_effects,
    paired_test,
    run_trial,
    sample_trial,
)
from lstmkit.apps.experiments.greff.tasks import next_step_windows


def test_sample_trial_is_paired_and_in_range() -> None:
    draws = [sample_trial("vowels", k) for k in range(50)]
    assert draws == [sample_trial("vowels", k) for k in range(50)]
    assert draws[0] != sample_trial("kjv", 0)
    assert all(1e-4 <= d.lr <= 1.0 and 16 <= d.hidden_size <= 128 for d in draws)
    assert all(0.0 <= d.momentum <= 0.99 + 1e-9 and 0.0 <= d.input_noise <= 1.0 for d in draws)
    assert len({d.seed for d in draws}) == 50
    with pytest.raises(ValueError, match="trial: expected an int >= 0, got -1"):
        sample_trial("vowels", -1)


@pytest.mark.parametrize(
    ("total", "first", "length"), [(10, 3, 2), (1461, 1096, 64), (500, 101, 100), (9, 8, 4)]
)
def test_next_step_windows_score_every_target_once(total: int, first: int, length: int) -> None:
    w = next_step_windows(total, first, length)
    targets = w.index[:, 1:][w.scored]
    assert sorted(targets.tolist()) == list(range(first, total))
    assert int(w.index.min()) >= 0 and int(w.index.max()) == total - 1
    context = torch.arange(2 * length).expand_as(w.scored)[w.scored] + 1  # inputs seen before each target
    assert int(context.min()) >= length and int(context.max()) <= 2 * length


@pytest.fixture(scope="module")
def vowels() -> ClassificationTask:
    from lstmkit.apps.datasets import sources

    d = sources.load_classification("japanesevowels")
    return ClassificationTask(
        "vowels", (d.x_train, d.lengths_train, d.y_train), (d.x_test, d.lengths_test, d.y_test)
    )


def test_a_trained_trial_beats_an_untrained_one_on_japanese_vowels(vowels: ClassificationTask) -> None:
    task = vowels
    hp = Hyperparameters(lr=0.1, hidden_size=32, momentum=0.9, input_noise=0.1, seed=3)
    untrained = run_trial(task, "vanilla", hp, steps=0, trial=0)
    trained = run_trial(task, "vanilla", hp, steps=120, trial=0)
    assert untrained.metric > 0.5 and task.baseline > 0.8  # 9 classes
    assert trained.metric < 0.25, trained
    assert not trained.diverged and trained.steps == 120 and math.isfinite(trained.train_loss)
    again = run_trial(task, "vanilla", hp, steps=120, trial=0)
    assert again.metric == trained.metric  # the seed fixes the whole trial


def test_every_variant_runs_a_trial(vowels: ClassificationTask) -> None:
    task = vowels
    hp = Hyperparameters(lr=0.05, hidden_size=16, momentum=0.5, input_noise=0.0, seed=1)
    for variant in GREFF_VARIANTS:
        res = run_trial(task, variant, hp, steps=3, trial=7)
        assert res.variant == variant and res.trial == 7 and 0.0 <= res.metric <= 1.0
        assert res.to_dict()["hyperparameters"]["hidden_size"] == 16


def test_a_diverged_trial_has_no_metric() -> None:
    t = np.arange(300)
    task = NextStepTask(
        "cycle", np.column_stack([np.sin(t / 3), np.cos(t / 3)]), 50, seq_len=16, batch_size=8
    )
    wild = Hyperparameters(lr=1e30, hidden_size=16, momentum=0.99, input_noise=0.0, seed=1)
    res = run_trial(task, "noaf", wild, steps=30, trial=0)
    assert res.diverged and res.steps < 30 and math.isnan(res.metric)
    assert res.to_dict()["metric"] is None  # valid JSON


def test_char_lm_trial_beats_the_unigram_baseline() -> None:
    from lstmkit.apps.language.corpora import load_text_corpus

    text = load_text_corpus("pydoc")
    task = CharLMTask("pydoc", text.train[:200_000], text.test[:3_000], seq_len=50, batch_size=16)
    hp = Hyperparameters(lr=0.5, hidden_size=48, momentum=0.9, input_noise=0.0, seed=0)
    untrained = run_trial(task, "cifg", hp, steps=0, trial=0)
    trained = run_trial(task, "cifg", hp, steps=150, trial=0)
    assert untrained.metric > math.log2(task.input_size) - 0.5
    assert trained.metric < task.baseline - 0.3 < untrained.metric, (trained.metric, task.baseline)


def test_next_step_trial_beats_persistence_on_a_noisy_cycle() -> None:
    rng = np.random.default_rng(0)
    t = np.arange(800)
    series = np.column_stack(
        [np.sin(2 * np.pi * t / 16), np.cos(2 * np.pi * t / 16)]
    ) + 0.05 * rng.standard_normal((800, 2))
    task = NextStepTask("cycle", series, test_steps=200, seq_len=32, batch_size=16)
    hp = Hyperparameters(lr=0.3, hidden_size=24, momentum=0.9, input_noise=0.0, seed=0)
    trained = run_trial(task, "vanilla", hp, steps=200, trial=0)
    assert trained.metric < 0.5 * task.baseline, (trained.metric, task.baseline)


def test_piano_roll_trial_beats_the_pitch_frequencies() -> None:
    # a rising arpeggio with a held bass note: the next frame follows from the last one
    def roll(length: int, start: int) -> np.ndarray:
        r = np.zeros((length, 8), dtype=np.uint8)
        r[np.arange(length), 1 + (start + np.arange(length)) % 7] = 1
        r[:, 0] = 1
        return r

    task = PianoRollTask("arpeggio", [roll(60, k) for k in range(7)], [roll(30, 3), roll(12, 5)], seq_len=16)
    rate = np.concatenate([roll(60, k) for k in range(7)]).mean(0).clip(1e-4, 1 - 1e-4)
    frames = np.concatenate([roll(30, 3)[1:], roll(12, 5)[1:]])  # scored: every frame but the first
    by_hand = -(frames * np.log(rate) + (1 - frames) * np.log(1 - rate)).sum(1).mean()
    assert task.baseline == pytest.approx(by_hand, rel=1e-5)
    hp = Hyperparameters(lr=0.5, hidden_size=24, momentum=0.9, input_noise=0.0, seed=0)
    trained = run_trial(task, "vanilla", hp, steps=200, trial=0)
    assert trained.metric < 0.3 * task.baseline, (trained.metric, task.baseline)


def test_paired_test_and_clipping() -> None:
    vanilla = np.arange(10.0)
    t = paired_test(vanilla + 1.0 + 0.01 * np.arange(10), vanilla)
    assert t.n == 10 and t.median_diff == pytest.approx(1.045) and t.worse_share == 1.0 and t.p_value < 0.01
    assert paired_test(vanilla, vanilla).p_value == 1.0
    half = paired_test(np.array([1.0, np.nan, 3.0]), np.array([2.0, 2.0, np.nan]))
    assert half.n == 1 and math.isnan(half.p_value) and half.median_diff == -1.0
    with pytest.raises(ValueError, match="variant: expected the shape of vanilla"):
        paired_test(np.zeros(3), np.zeros(4))
    assert clipped(np.array([0.5, np.nan, 9.0]), 2.0).tolist() == [0.5, 2.0, 2.0]


def test_main_effects_find_the_factor_that_matters() -> None:
    rng = np.random.default_rng(0)
    lr = 10 ** rng.uniform(-4, 0, 400)
    noise = rng.uniform(0, 1, 400)
    names = rng.choice(["a", "b", "c"], 400)
    y = (np.log10(lr) + 2) ** 2 + 0.1 * rng.standard_normal(400)
    share = main_effects({"lr": lr, "noise": noise, "variant": names}, y)
    assert share["lr"] > 0.8 and share["noise"] < 0.05 and share["variant"] < 0.05
    assert main_effects({"x": noise}, np.ones(400)) == {"x": 0.0}
