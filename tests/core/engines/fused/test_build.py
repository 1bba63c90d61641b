"""The extension's build folder lock: a killed build never blocks later processes."""

from __future__ import annotations

import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import lstmkit.core.engines.fused.build as build
from lstmkit.core.engines.fused.build import build_lock

pytest.importorskip("fcntl")

_HOLD = """
import sys, time
from pathlib import Path
import lstmkit.core.engines.fused.build as build
from lstmkit.core.engines.fused.build import build_lock
with build_lock(Path(sys.argv[1])):
    (Path(sys.argv[1]) / "lock").touch()  # as torch's load does while it builds
    print("held", flush=True)
    time.sleep(60)
"""


def test_stale_torch_lock_file_is_removed(tmp_path: Path) -> None:
    (tmp_path / "lock").touch()  # left by a process killed inside torch's load
    with pytest.warns(RuntimeWarning, match="left by a build that was killed"), build_lock(tmp_path):
        assert not (tmp_path / "lock").exists()


def test_lock_waits_for_a_live_holder_and_is_freed_when_it_is_killed(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    holder = subprocess.Popen([sys.executable, "-c", _HOLD, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        entered = threading.Event()

        def enter() -> None:
            with pytest.warns(RuntimeWarning), build_lock(tmp_path):
                entered.set()

        waiter = threading.Thread(target=enter)
        waiter.start()
        time.sleep(1.0)
        assert not entered.is_set()  # the holder is alive: wait for it
        holder.kill()  # killed while holding both locks, as a Ctrl-C'd build
        waiter.join(timeout=30)
        assert entered.is_set()
    finally:
        holder.kill()
        holder.wait()
    assert "waiting for another process" in capfd.readouterr().err


def test_build_folder_is_per_checkout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Identical sources in another checkout get their own folder (their path is in the compile
    command, so sharing one made ninja rebuild at every switch); the same checkout keeps its own."""
    flags = ["-O3"]
    here = build._source_tag(flags)
    assert build._source_tag(flags) == here
    shutil.copytree(Path(build.__file__).parent / "csrc", tmp_path / "engine" / "csrc")
    monkeypatch.setattr(build, "__file__", str(tmp_path / "engine" / "build.py"))
    there = build._source_tag(flags)
    assert there != here
    (tmp_path / "engine" / "csrc" / "lstm_math.h").write_text("// changed\n")
    assert build._source_tag(flags) != there  # and each source version its own


def test_every_kernel_source_is_compiled_and_in_the_tag(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every .cpp of csrc is compiled (one per job), and the tag changes with any source or header
    added, renamed or edited."""
    sources, headers = build._kernel_files(Path(build.__file__).parent / "csrc")
    names = {p.name for p in sources}
    assert {"bind.cpp", "forward.cpp", "backward.cpp", "stream.cpp", "gemm.cpp"} <= names
    assert {"config.h", "tensors.h", "kernels.h", "lstm_math.h"} <= {p.name for p in headers}
    csrc = tmp_path / "engine" / "csrc"
    shutil.copytree(Path(build.__file__).parent / "csrc", csrc)
    monkeypatch.setattr(build, "__file__", str(tmp_path / "engine" / "build.py"))
    tags = [build._source_tag(["-O3"])]
    (csrc / "extra.cpp").write_text("// a new job\n")
    tags.append(build._source_tag(["-O3"]))
    (csrc / "extra.cpp").rename(csrc / "other.cpp")
    tags.append(build._source_tag(["-O3"]))
    (csrc / "config.h").write_text((csrc / "config.h").read_text() + "// edited\n")
    tags.append(build._source_tag(["-O3"]))
    assert len(set(tags)) == len(tags), tags
