"""``lstmkit speech train|transcribe|stream|train-tts|say``: a spoken-digit recognizer (LSTM +
CTC) on speech synthesized by espeak-ng, and a digit synthesizer (LSTM + Griffin-Lim). The work
is in :mod:`lstmkit.apps.speech.job` and :mod:`lstmkit.apps.speech.tts_job`."""

from __future__ import annotations

import argparse

from lstmkit.apps.common import options as opt
from lstmkit.apps.speech import job, kws_job, tts_job

HELP = "spoken digits: an LSTM + CTC recognizer on synthesized speech, streaming, synthesis"
DESCRIPTION = """
Recognize spoken digits (isolated and strings of 2-7) with an LSTM acoustic model, CTC, and greedy
or prefix beam search decoding. train: synthesize a corpus with espeak-ng (apt-get install
espeak-ng; cached in ~/.cache/lstmkit/speech), test on voices never heard in training, clean and
noisy; the report and model.pt in runs/NAME/. transcribe: the digits of WAV files. stream: a WAV
file or stdin (-) pushed 10 ms at a time through a unidirectional model, partial hypotheses and
latencies on stderr, the digits on stdout. train-tts: a digit synthesizer (biLSTM acoustic
model from espeak-ng phonemes to log-mel frames, Griffin-Lim vocoder) learned from one espeak-ng
voice; say: a digit string into a WAV file.
"""


def _add_train(sub: argparse._SubParsersAction) -> None:
    text = "synthesize the corpus, train a recognizer, score it on unseen voices"
    p = opt.add_command(sub, "train", text, text + ".", train_main)
    d = p.add_argument_group("data")
    d.add_argument("--isolated", type=int, default=1500, help="training isolated digits (1500)")
    d.add_argument("--strings", type=int, default=2500, help="training digit strings, 2-7 digits (2500)")
    d.add_argument("--test-isolated", type=int, default=300, help="test isolated digits (300)")
    d.add_argument("--test-strings", type=int, default=300, help="test digit strings (300)")
    d.add_argument("--no-augment", action="store_true", help="no speed, reverberation or noise augmentation")
    d.add_argument("--snrs", type=opt.comma_list, default=["10", "0"], help="noisy test SNRs in dB (10,0)")
    m = p.add_argument_group("model")
    m.add_argument("--unidirectional", action="store_true", help="a unidirectional LSTM (streams)")
    m.add_argument("--hidden", type=int, default=128, help="LSTM units per direction (128)")
    m.add_argument("--num-layers", type=int, default=2, help="LSTM layers (2)")
    m.add_argument("--subsample", type=int, default=2, help="frames stacked per LSTM step (2)")
    m.add_argument("--features", default="logmel", help="logmel or mfcc (logmel)")
    m.add_argument(
        "--normalize",
        default=None,
        help="utterance, global or running (a causal running mean); default: utterance for a biLSTM, "
        "global for a unidirectional LSTM",
    )
    m.add_argument("--deltas", action="store_true", help="append deltas and delta-deltas (offline only)")
    m.add_argument("--no-spec-augment", action="store_true", help="no SpecAugment masks")
    m.add_argument("--epochs", type=int, default=15, help="training epochs (15)")
    m.add_argument("--batch-size", type=int, default=32, help="batch size (32)")
    m.add_argument("--lr", type=float, default=2e-3, help="learning rate (2e-3)")
    m.add_argument("--beam", type=int, default=8, help="prefix beam search width (8)")
    opt.add_seed_arg(m, help="seed of the training corpus and the weights (default 0)")
    opt.add_device_arg(m)
    p.add_argument("--name", default=None, help="report folder name (default speech)")
    opt.add_output_args(p, out_help="parent folder of the report (default runs)")
    opt.add_progress_arg(p)


def _add_use(sub: argparse._SubParsersAction) -> None:
    text = "print the digits spoken in WAV files"
    p = opt.add_command(sub, "transcribe", text, text + " (any rate, resampled to 16 kHz).", transcribe_main)
    p.add_argument("files", nargs="+", metavar="FILE.wav", help="WAV files (16-bit PCM; - for stdin)")
    p.add_argument("--model", required=True, help="a model.pt written by lstmkit speech train")
    p.add_argument("--beam", type=int, default=8, help="prefix beam search width, 0 for greedy (8)")
    opt.add_device_arg(p)
    text = "recognize a WAV file or stdin 10 ms at a time (unidirectional model)"
    p = opt.add_command(
        sub, "stream", text, text + "; partial hypotheses and latencies on stderr.", stream_main
    )
    p.add_argument("source", metavar="FILE.wav", help="a 16-bit PCM WAV file, or - for stdin")
    p.add_argument("--model", required=True, help="a model.pt of lstmkit speech train --unidirectional")
    p.add_argument("--chunk-ms", type=float, default=10.0, help="milliseconds of audio per chunk (10)")
    opt.add_device_arg(p)


def _add_tts(sub: argparse._SubParsersAction) -> None:
    text = "train a digit synthesizer (biLSTM acoustic model + Griffin-Lim) on one espeak-ng voice"
    p = opt.add_command(sub, "train-tts", text, text + "; model.pt in runs/NAME/.", train_tts_main)
    p.add_argument("--voice", default="en-us+m3", help="espeak-ng voice to learn (en-us+m3)")
    p.add_argument("--strings", type=int, default=400, help="training digit strings, 1-7 digits (400)")
    p.add_argument("--hidden", type=int, default=128, help="LSTM units per direction (128)")
    p.add_argument("--num-layers", type=int, default=2, help="LSTM layers (2)")
    p.add_argument("--epochs", type=int, default=40, help="training epochs (40)")
    p.add_argument("--batch-size", type=int, default=16, help="batch size (16)")
    p.add_argument("--lr", type=float, default=3e-3, help="learning rate (3e-3)")
    opt.add_seed_arg(p, help="seed of the training strings and the weights (default 0)")
    opt.add_device_arg(p)
    p.add_argument("--name", default=None, help="run folder name (default tts)")
    opt.add_output_args(p, out_help="parent folder of the run folder (default runs)")
    opt.add_progress_arg(p)
    text = "speak a digit string into a WAV file with a synthesizer of train-tts"
    p = opt.add_command(sub, "say", text, text + " (16 kHz, 16-bit).", say_main)
    p.add_argument("digits", help='the digits to say, e.g. "3 1 4"')
    p.add_argument("--model", required=True, help="a model.pt written by lstmkit speech train-tts")
    p.add_argument("--out", required=True, metavar="FILE.wav", help="the WAV file to write")
    p.add_argument("--iterations", type=int, default=100, help="Griffin-Lim iterations (100)")
    p.add_argument("--overwrite", action="store_true", help="replace --out if it exists")
    opt.add_device_arg(p)


def _add_wake(sub: argparse._SubParsersAction) -> None:
    text = "wake on a digit: the times a keyword is spoken in a WAV file or stdin, 10 ms at a time"
    p = opt.add_command(sub, "wake", text, text + " (unidirectional model); times on stdout.", wake_main)
    p.add_argument("source", metavar="FILE.wav", help="a 16-bit PCM WAV file, or - for stdin")
    p.add_argument("--model", required=True, help="a model.pt of lstmkit speech train --unidirectional")
    p.add_argument("--keyword", required=True, help="the wake digit, 0-9")
    p.add_argument("--threshold", type=float, default=0.24, help="keyword posterior that triggers (0.24)")
    p.add_argument("--window", type=int, default=3, help="model steps the posterior is averaged over (3)")
    p.add_argument("--refractory", type=int, default=50, help="steps after a trigger with no other (50)")
    p.add_argument(
        "--rearm",
        action="store_true",
        help="trigger again only once the score fell below the threshold (to count repeated "
        "keywords in connected speech with a short --refractory, e.g. 5)",
    )
    p.add_argument("--chunk-ms", type=float, default=10.0, help="milliseconds of audio per chunk (10)")
    opt.add_device_arg(p)


def register(sub: argparse._SubParsersAction) -> None:
    p = opt.add_command(sub, "speech", HELP, DESCRIPTION)
    tasks = p.add_subparsers(dest="task", metavar="TASK", required=True)
    _add_train(tasks)
    _add_use(tasks)
    _add_wake(tasks)
    _add_tts(tasks)


def _snrs(values: list[str]) -> tuple[float, ...]:
    try:
        return tuple(float(v) for v in values)
    except ValueError:
        raise ValueError(
            f"--snrs: expected numbers in dB separated by commas, got {','.join(values)!r}"
        ) from None


def train_main(args: argparse.Namespace) -> int:
    values = {
        "echo": True,
        "augment": not args.no_augment,
        "spec_augment": not args.no_spec_augment,
        "snrs": _snrs(args.snrs),
    }
    job.train(opt.config_from_args(job.SpeechTrainConfig, args, values))
    return 0


def transcribe_main(args: argparse.Namespace) -> int:
    job.transcribe(args.model, args.files, args.beam, args.device, echo=True)
    return 0


def stream_main(args: argparse.Namespace) -> int:
    job.stream_and_print(args.model, args.source, chunk_ms=args.chunk_ms, device=args.device)
    return 0


def train_tts_main(args: argparse.Namespace) -> int:
    tts_job.train_tts(opt.config_from_args(tts_job.TTSTrainConfig, args, {"echo": True}))
    return 0


def say_main(args: argparse.Namespace) -> int:
    tts_job.say(
        args.digits,
        args.model,
        args.out,
        iterations=args.iterations,
        overwrite=args.overwrite,
        device=args.device,
    )
    print(args.out)
    return 0


def wake_main(args: argparse.Namespace) -> int:
    kws_job.wake_and_print(
        args.model,
        args.source,
        args.keyword,
        threshold=args.threshold,
        window=args.window,
        refractory=args.refractory,
        rearm=args.rearm,
        chunk_ms=args.chunk_ms,
        device=args.device,
    )
    return 0
