"""The browser app of ``lstmkit serve`` driven in Debian's chromium (headless, Playwright for
Python): upload -> preview -> train -> forecast -> download; a bad CSV shows its error; cancel;
a reload during training picks the job back up; a failed job shows its error; the detect task
on a server with a token (asked once, sent on every request, never in a URL); the classify task,
and tuning a classifier on a wide (UCR-like) table.
``make app-browser`` installs chromium.

With ``LSTMKIT_APP_SCREENSHOTS=1`` the tests also save each page state to
``docs/images/app-*.png`` (1280x800, and the result at 390x844): see docs/app.md.
"""

from __future__ import annotations

import io
import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from tests.apps.serve.conftest import sequences_csv, serving, spiky_csv

from lstmkit.apps.forecasting.datasets import load_series
from lstmkit.apps.forecasting.estimator import Forecaster

playwright = pytest.importorskip("playwright.sync_api")
CHROMIUM = "/usr/bin/chromium"
if not os.path.exists(CHROMIUM):
    pytest.skip(
        f"{CHROMIUM} missing: run make app-browser (apt-get install chromium)", allow_module_level=True
    )

SHOTS = Path(__file__).resolve().parents[3] / "docs" / "images"
TINY = {"epochs": "20", "hidden": "16", "windows": "2"}
LONG = {"epochs": "2000", "hidden": "32", "windows": "2"}


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A server in a thread of this process (no token)."""
    with serving(tmp_path_factory.mktemp("app")) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with playwright.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture()
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 800}, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(60_000)
    yield page
    context.close()


@pytest.fixture(scope="module")
def airline_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    series = load_series("airline")
    path = tmp_path_factory.mktemp("data") / "airline.csv"
    lines = ["month,passengers"] + [f"{t:%Y-%m},{v:g}" for t, v in zip(series.index, series.values)]
    path.write_text("\n".join(lines) + "\n")
    return path


def shot(page: Any, name: str) -> None:
    if os.environ.get("LSTMKIT_APP_SCREENSHOTS") == "1":
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"app-{name}.png"), full_page=True)


def upload_and_set(page: Any, url: str, csv: Path, settings: dict[str, str]) -> None:
    page.goto(f"{url}/app/")
    page.set_input_files("#file", str(csv))
    page.wait_for_selector("#step-settings:not([hidden])")
    page.click("summary")
    page.fill("#horizon", "12")
    for name, value in settings.items():
        page.fill(f"#{name}", value)
    page.uncheck("#b-arima")


def test_upload_train_forecast_download(page: Any, base_url: str, airline_csv: Path, tmp_path: Path) -> None:
    upload_and_set(page, base_url, airline_csv, TINY)
    info = page.text_content("#preview-info")
    assert 'time column "month"' in info and "frequency MS" in info and "0 gaps" in info
    assert page.locator("#preview-table tr").count() == 9  # the header and 8 rows
    assert page.input_value("#target") == "passengers"
    shot(page, "1-preview")
    page.click("#train")
    page.wait_for_function("() => /job=[0-9a-f]{12}/.test(location.hash)")
    page.wait_for_function("() => document.querySelectorAll('#loss path.train').length > 0")
    shot(page, "2-training")
    _done(page, "result")
    models = page.locator("#backtest tr td:first-child").all_text_contents()
    assert models == ["LSTM", "seasonal naive", "ETS"]
    assert (
        page.locator("#forecast path.point").count() == 1
        and page.locator("#forecast path.band95").count() == 1
    )
    page.wait_for_function("() => document.getElementById('gates').naturalWidth > 0")  # the heatmaps load
    shot(page, "3-forecast")
    with page.expect_download() as download:
        page.click("#download-model")
    download.value.save_as(tmp_path / "model.pt")
    assert Forecaster.load(tmp_path / "model.pt").horizon == 12  # the trained model, whole
    with page.expect_download() as download:
        page.click("#download-forecast")
    lines = Path(download.value.path()).read_text().splitlines()
    assert lines[0].startswith("time,point") and len(lines) == 13
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390  # no sideways scrolling
    shot(page, "4-phone")


def test_a_bad_csv_shows_its_error(page: Any, base_url: str, tmp_path: Path) -> None:
    bad = tmp_path / "names.csv"
    bad.write_text("name,city\nann,oslo\nbob,rome\ncid,lima\n")
    page.goto(f"{base_url}/app/")
    page.set_input_files("#file", str(bad))
    page.wait_for_selector("#error:not([hidden])")
    assert "names.csv: csv: expected a column of numbers" in page.text_content("#error")
    assert page.is_hidden("#step-settings")
    shot(page, "5-bad-csv")


def _training(page: Any) -> None:
    page.wait_for_function("() => document.getElementById('progress-text').textContent.includes('epoch')")


def _done(page: Any, step: str) -> None:
    """Wait for the job's result section ``#step-<step>`` and check the job ended well."""
    page.wait_for_selector(f"#step-{step}:not([hidden])", timeout=90_000)
    assert page.text_content("#state") == "done" and page.is_hidden("#error")


def test_cancel(page: Any, base_url: str, airline_csv: Path) -> None:
    upload_and_set(page, base_url, airline_csv, LONG)
    page.click("#train")
    _training(page)
    page.click("#cancel")
    page.wait_for_function("() => document.getElementById('state').textContent === 'cancelled'")
    assert page.is_hidden("#cancel") and page.is_hidden("#step-result")
    shot(page, "6-cancelled")


def test_tune_shows_its_trials_and_cancels(page: Any, base_url: str, airline_csv: Path) -> None:
    upload_and_set(
        page, base_url, airline_csv, {"epochs": "30", "hidden": "8", "windows": "2", "trials": "200"}
    )
    page.check("#tune")
    page.click("#train")
    page.wait_for_function("() => document.querySelectorAll('#trials-table tr').length >= 3")  # 2 trials
    cells = page.locator("#trials-table tr:nth-child(2) td").all_text_contents()
    assert cells[0] == "0" and float(cells[1]) > 0 and cells[2] in ("lstm", "gru")
    assert page.locator("#trials-table tr.best").count() == 1
    assert "tuning: " in page.text_content("#progress-text")
    shot(page, "7-tuning")
    page.click("#cancel")
    page.wait_for_function("() => document.getElementById('state').textContent === 'cancelled'")


def test_a_reload_during_training_resumes_the_job(page: Any, base_url: str, airline_csv: Path) -> None:
    upload_and_set(page, base_url, airline_csv, LONG)
    page.click("#train")
    _training(page)
    url = page.url
    page.reload()
    assert page.url == url and "#job=" in url
    _training(page)  # the curve comes back (rows so far) and goes on (events)
    curves = page.evaluate("() => document.querySelectorAll('#loss path.train').length")
    assert curves >= 1 and page.text_content("#state") == "running"
    before = page.text_content("#progress-text")
    page.wait_for_function(f"() => document.getElementById('progress-text').textContent !== {before!r}")
    # then the worker dies: the page shows the failed job's error
    job_id = url.split("#job=")[1]
    os.kill(page.request.get(f"{base_url}/v1/jobs/{job_id}").json()["pid"], signal.SIGKILL)
    page.wait_for_selector("#error:not([hidden])")
    assert page.text_content("#state") == "failed"
    assert "The job failed: the worker process was killed (SIGKILL)" in page.text_content("#error")
    shot(page, "8-failed")


def _story(lines: int = 160) -> str:
    """Lines of a tiny grammar (a character model learns its words in seconds)."""
    subjects, verbs = ["the cat", "a dog", "my hen", "one fox"], ["sat on", "ran to", "saw", "hid by"]
    return "".join(
        f"{subjects[(3 * k) % 4]} {verbs[(k * k) % 4]} {subjects[(k // 3) % 4]}.\n" for k in range(lines)
    )


def test_the_text_page_trains_and_generates_as_it_streams(page: Any, base_url: str, tmp_path: Path) -> None:
    text = _story()
    (tmp_path / "story.txt").write_text(text)
    page.goto(f"{base_url}/app/text.html")
    page.set_input_files("#file", str(tmp_path / "story.txt"))
    page.wait_for_selector("#step-settings:not([hidden])")
    info = page.text_content("#preview-info")
    assert f"{len(text):,} characters, 160 lines, {len(set(text))} distinct characters" in info
    shot(page, "text-1-preview")
    page.click("summary")
    for name, value in {"epochs": "8", "budget": "60", "hidden": "32", "bptt": "32", "lr": "0.01"}.items():
        page.fill(f"#{name}", value)
    page.click("#train")
    page.wait_for_function("() => /job=[0-9a-f]{12}/.test(location.hash)")
    page.wait_for_function("() => document.querySelectorAll('#loss path.train').length > 0")
    assert "bits per character" in page.text_content("#progress-text")
    shot(page, "text-2-training")
    _done(page, "generate")
    assert "bits per character on the last 10% of the text" in page.text_content("#result-info")
    page.fill("#prime", "the cat ")
    page.focus("#temperature")
    for _ in range(3):
        page.keyboard.press("ArrowLeft")  # the slider: 0.8 -> 0.5
    assert page.text_content("#temperature-value") == "0.5"
    page.fill("#length", "150")
    page.fill("#gen-seed", "1")
    page.evaluate(
        """() => { window.pieces = 0; new MutationObserver((m) => { window.pieces += m.length; })
           .observe(document.getElementById('generated'), { childList: true }); }"""
    )
    page.click("#generate")
    page.wait_for_function(
        "() => !document.getElementById('generate').disabled"
        " && document.getElementById('generated').textContent.length >= 158"
    )
    shown = page.text_content("#generated")
    assert page.evaluate("() => window.pieces") > 1  # the text came in pieces, as it was sampled
    job_id = page.url.split("#job=")[1]
    body = {
        "prime": "the cat ",
        "length": 150,
        "seed": 1,
        "temperature": float(page.input_value("#temperature")),
    }
    whole = page.request.post(f"{base_url}/v1/jobs/{job_id}/generate", data=body).json()["text"]
    assert shown == "the cat " + whole  # the same sample as one answer
    shot(page, "text-3-generated")
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390  # no sideways scrolling
    shot(page, "text-4-phone")


TOKEN = "app-token-0123456789abcdef"


def test_with_a_token_the_page_asks_once_and_detects_anomalies(
    browser: Any, tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    csv = tmp_path / "levels.csv"
    csv.write_text(spiky_csv())
    with serving(tmp_path_factory.mktemp("app-token"), token=TOKEN) as url:
        context = browser.new_context(viewport={"width": 1280, "height": 800}, accept_downloads=True)
        page = context.new_page()
        page.set_default_timeout(60_000)
        urls: list[str] = []
        page.on("request", lambda request: urls.append(request.url))
        assert page.request.get(f"{url}/v1/jobs").status == 401  # no token, no answer
        page.goto(f"{url}/app/")
        page.wait_for_selector("#token-form:not([hidden])")
        page.fill("#token", TOKEN)
        page.click("#token-save")
        page.wait_for_selector("#token-form", state="hidden")
        page.set_input_files("#file", str(csv))
        page.wait_for_selector("#step-settings:not([hidden])")
        page.check('input[name="task"][value="detect"]')
        assert (
            page.is_hidden("#horizon")
            and page.is_visible("#d-train")
            and page.input_value("#target") == "level"
        )
        page.click("summary")
        page.fill("#d-epochs", "15")
        page.fill("#d-hidden", "12")
        shot(page, "9-detect-settings")
        page.click("#train")
        _done(page, "detect")  # the job's events read with the token
        assert "of 320 rows" in page.text_content("#detect-info")
        assert page.locator("#detect-series circle.flag").count() >= 1
        with page.expect_download() as download:
            page.click("#download-scores")
        lines = Path(download.value.path()).read_text().splitlines()
        assert lines[0] == "time,value,score,flag" and len(lines) == 321
        shot(page, "10-detect")
        with context.expect_page() as opened:  # the report opens in a tab, its images fetched with the token
            page.click("#download-report")
        report = opened.value
        report.wait_for_function("() => document.images.length > 0 && document.images[0].complete")
        assert "Signal and scores" in report.content()
        assert report.evaluate("() => [...document.images].every((i) => i.naturalWidth > 100)")
        report.close()
        job_id = page.url.split("#job=")[1]
        for path in (
            f"/v1/jobs/{job_id}",
            f"/v1/jobs/{job_id}/events",
            f"/v1/jobs/{job_id}/files/scores.csv",
        ):
            assert page.request.get(f"{url}{path}").status == 401
        page.reload()  # this tab keeps the token: the job comes back without asking
        page.wait_for_selector("#step-detect:not([hidden])")
        assert page.is_hidden("#token-form")
        page.set_viewport_size({"width": 390, "height": 844})
        assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
        shot(page, "11-detect-phone")
        assert not any(TOKEN in u for u in urls)  # never in a URL
        context.close()


def test_classify_labelled_sequences(page: Any, base_url: str, tmp_path: Path) -> None:
    csv = tmp_path / "sequences.csv"
    csv.write_text(sequences_csv())
    page.goto(f"{base_url}/app/")
    page.set_input_files("#file", str(csv))
    page.wait_for_selector("#step-settings:not([hidden])")
    page.check('input[name="task"][value="classify"]')
    guessed = [page.input_value(f"#c-{name}") for name in ("id", "order", "label")]
    assert guessed == ["id", "step", "label"] and page.is_hidden("#target")
    assert page.is_checked('#c-values input[value="x"]') and not page.is_checked(
        '#c-values input[value="step"]'
    )
    page.click("summary")
    page.select_option("#c-arch", "lstm")
    page.fill("#c-epochs", "40")
    page.fill("#c-hidden", "16")
    shot(page, "12-classify-settings")
    page.click("#train")
    _done(page, "classify")
    info = page.text_content("#classify-info")
    accuracy = float(info.split("Accuracy ")[1].split(" ")[0])
    assert accuracy >= 0.9 and "the majority class alone: 0.500" in info and "on 12 held-out" in info
    assert page.locator("#confusion tr").count() == 3 and page.locator("#per-class tr").count() == 3
    with page.expect_download() as download:
        page.click("#download-predictions")
    assert len(Path(download.value.path()).read_text().splitlines()) == 13
    shot(page, "13-classify")
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
    shot(page, "14-classify-phone")


def test_tune_a_classifier_on_a_wide_table(page: Any, base_url: str, tmp_path: Path) -> None:
    frame = pd.read_csv(io.StringIO(sequences_csv(8, 12))).sort_values(["id", "step"], kind="stable")
    wide = frame.pivot_table(index="id", columns="step", values="x").add_prefix("t")  # a row per sequence
    wide.insert(0, "label", frame.groupby("id")["label"].first())
    csv = tmp_path / "wide.csv"
    wide.to_csv(csv, index=False, float_format="%.5f")
    page.goto(f"{base_url}/app/")
    page.set_input_files("#file", str(csv))
    page.wait_for_selector("#step-settings:not([hidden])")
    page.check('input[name="task"][value="classify"]')
    assert page.input_value("#c-layout") == "wide" and page.input_value("#c-label") == "label"
    assert page.is_hidden("#c-order") and page.is_hidden("#c-values") and page.is_visible("#tune")
    page.check("#tune")
    page.click("summary")
    page.fill("#trials", "2")
    page.fill("#c-epochs", "3")
    shot(page, "15-classify-tune-settings")
    page.click("#train")
    _done(page, "classify")
    head = page.locator("#trials-table th").all_text_contents()
    assert head[:3] == ["trial", "val_loss", "architecture"] and page.locator("#trials-table tr").count() == 3
    assert "cross-entropy" in page.text_content("#trials-note")
    tuned = page.text_content("#classify-tuned")
    assert (
        tuned.startswith("Tuned (trial ") and "validation cross-entropy" in tuned and "architecture" in tuned
    )
    assert "on 4 held-out" in page.text_content("#classify-info")
    shot(page, "16-classify-tuned")
