r"""WAV files in and out: 16-bit PCM, any number of channels (averaged) and any sample rate
(resampled to 16 kHz by ``scipy.signal.resample_poly``); a stream's RIFF sizes may be
placeholders (as ``espeak-ng --stdout`` writes them): the samples are whatever follows the
``data`` tag. :class:`WavReader` reads a file or stdin incrementally for streaming.
"""

from __future__ import annotations

import io
import os
import sys
from typing import BinaryIO

import numpy as np
from scipy.signal import resample_poly

from lstmkit.io.atomic import atomic_write_bytes

__all__ = ["SAMPLE_RATE", "WavReader", "decode_wav", "load_wav", "to_16k", "write_wav"]

#: the sample rate of every waveform of the speech app
SAMPLE_RATE = 16_000


def to_16k(x: np.ndarray, rate: int) -> np.ndarray:
    """(S,) float samples at ``rate`` Hz resampled to 16 kHz (float32)."""
    if rate == SAMPLE_RATE:
        return x.astype(np.float32)
    g = np.gcd(rate, SAMPLE_RATE)
    return resample_poly(x.astype(np.float64), SAMPLE_RATE // g, rate // g).astype(np.float32)


class WavReader:
    """Read the header of a 16-bit PCM WAV from ``stream``, then its samples chunk by chunk.

    Args:
        stream: a binary file object (a file, ``sys.stdin.buffer``).
        name: the file's name for errors.

    Attributes:
        rate: the sample rate in Hz. channels: the channels (averaged by :meth:`read`).
    """

    def __init__(self, stream: BinaryIO, name: str) -> None:
        self._stream, self.name = stream, name
        head = stream.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            raise ValueError(f"{name}: expected a WAV file (RIFF/WAVE), got {head[:12]!r}")
        self.rate, self.channels = 0, 0
        while True:
            tag = stream.read(8)
            if len(tag) < 8:
                raise ValueError(f"{name}: expected a WAV 'data' chunk, found none")
            size = int.from_bytes(tag[4:], "little")
            if tag[:4] == b"data":
                break
            body = stream.read(size + (size & 1))
            if tag[:4] == b"fmt ":
                self._format(body)
        if not self.rate:
            raise ValueError(f"{name}: expected a 'fmt ' chunk before the samples, found none")
        self._rest = b""

    def _format(self, body: bytes) -> None:
        fmt, channels = int.from_bytes(body[0:2], "little"), int.from_bytes(body[2:4], "little")
        bits = int.from_bytes(body[14:16], "little")
        if fmt not in (1, 0xFFFE) or bits != 16 or channels < 1:
            raise ValueError(
                f"{self.name}: expected 16-bit PCM, got format {fmt} with {bits} bits and {channels} channels"
            )
        self.rate, self.channels = int.from_bytes(body[4:8], "little"), channels

    def read(self, frames: int = -1) -> np.ndarray:
        """Up to ``frames`` more samples (all that are left with -1), channels averaged, as
        (S,) float32 in [-1, 1]; empty at the end."""
        width = 2 * self.channels
        want = -1 if frames < 0 else max(frames * width - len(self._rest), 0)
        data = self._rest + (self._stream.read(want) if want else b"")
        cut = len(data) // width * width
        data, self._rest = data[:cut], data[cut:]
        pcm = np.frombuffer(data, dtype="<i2").reshape(-1, self.channels)
        return (pcm.astype(np.float32) / 32768.0).mean(axis=1)


def decode_wav(data: bytes, name: str = "wav") -> tuple[np.ndarray, int]:
    """(S,) float32 samples (channels averaged) and the sample rate of WAV bytes ``data``."""
    reader = WavReader(io.BytesIO(data), name)
    return reader.read(), reader.rate


def load_wav(path: str | os.PathLike[str]) -> np.ndarray:
    """The samples of a WAV file (``"-"``: stdin) at 16 kHz, as (S,) float32."""
    if os.fspath(path) == "-":
        samples, rate = decode_wav(sys.stdin.buffer.read(), "stdin")
    else:
        if not os.path.isfile(path):
            raise FileNotFoundError(f"{os.fspath(path)}: no such WAV file")
        with open(path, "rb") as fh:
            samples, rate = decode_wav(fh.read(), os.fspath(path))
    if len(samples) == 0:
        raise ValueError(f"{os.fspath(path)}: expected audio samples, the WAV file has none")
    return to_16k(samples, rate)


def write_wav(path: str | os.PathLike[str], audio: np.ndarray, rate: int = SAMPLE_RATE) -> None:
    """Write (S,) float samples in [-1, 1] as a mono 16-bit WAV, atomically."""
    pcm = np.round(np.clip(np.asarray(audio, dtype=np.float64), -1, 1) * 32767).astype("<i2").tobytes()
    fmt = (1).to_bytes(2, "little") + (1).to_bytes(2, "little") + rate.to_bytes(4, "little")
    fmt += (2 * rate).to_bytes(4, "little") + (2).to_bytes(2, "little") + (16).to_bytes(2, "little")
    body = (
        b"WAVE"
        + b"fmt "
        + len(fmt).to_bytes(4, "little")
        + fmt
        + b"data"
        + len(pcm).to_bytes(4, "little")
        + pcm
    )
    atomic_write_bytes(path, b"RIFF" + len(body).to_bytes(4, "little") + body)
