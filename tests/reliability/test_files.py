"""No user file is deleted or half-written: run folders, atomic files, kills and signals.

Each test names the hostile situation it recreates; those marked "before" failed on the code
before the reliability work (a run folder replaced whatever folder stood at its path, a kill
between the swap's renames left nothing there, SIGTERM left temporary folders behind).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from lstmkit.io.atomic import atomic_write_bytes, check_output_file, remove_stale_temporaries
from lstmkit.io.runfolder import MARKER, prepare_run_folder, recover_run_folders, run_folder

ROOT = Path(__file__).resolve().parents[2]


def dead_pid() -> int:
    """The id of a process that has ended (and was waited for)."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def make_run(path: Path, kind: str = "run", text: str = "old") -> None:
    with run_folder(path, kind) as tmp:
        Path(tmp, "index.html").write_text(text)
        Path(tmp, "sub").mkdir()
        Path(tmp, "sub", "model.pt").write_bytes(b"\x80weights")


def tree(path: Path) -> dict[str, bytes]:
    return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


# ---------------------------------------------------------------------- whose folder is it
def test_a_users_folder_is_never_replaced(tmp_path: Path) -> None:  # before: deleted
    user = tmp_path / "d"
    user.mkdir()
    (user / "sales.csv").write_text("month,sales\n1,2\n")
    for overwrite in (False, True):
        with (
            pytest.raises(FileExistsError, match="was not made by lstmkit") as info,
            run_folder(user, "run", overwrite=overwrite) as tmp,
        ):
            Path(tmp, "index.html").write_text("new")
        assert "\n" not in str(info.value) and str(user) in str(info.value)
    assert tree(user) == {"sales.csv": b"month,sales\n1,2\n"}
    assert [p.name for p in tmp_path.iterdir()] == ["d"]  # no temporary folder left


def test_same_kind_replaces_its_own_unchanged_run(tmp_path: Path) -> None:
    make_run(tmp_path / "r", text="old")
    make_run(tmp_path / "r", text="new")
    assert (tmp_path / "r" / "index.html").read_text() == "new"
    marker = json.loads((tmp_path / "r" / MARKER).read_text())
    assert marker["kind"] == "run" and set(marker["files"]) == {"index.html", "sub/model.pt"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r"]


def test_another_kind_needs_overwrite(tmp_path: Path) -> None:
    make_run(tmp_path / "r", kind="classify")
    with pytest.raises(FileExistsError, match=r"holds an lstmkit 'classify' run.*--overwrite"):
        make_run(tmp_path / "r", kind="run")
    assert (tmp_path / "r" / "index.html").read_text() == "old"
    with run_folder(tmp_path / "r", "run", overwrite=True) as tmp:
        Path(tmp, "index.html").write_text("new")
    assert (tmp_path / "r" / "index.html").read_text() == "new"


def test_files_the_user_added_to_a_run_are_never_deleted(tmp_path: Path) -> None:
    make_run(tmp_path / "r")
    (tmp_path / "r" / "my-notes.txt").write_text("mine")
    for overwrite in (False, True):
        with (
            pytest.raises(FileExistsError, match=r"holds files lstmkit did not write \(my-notes.txt\)"),
            run_folder(tmp_path / "r", "run", overwrite=overwrite),
        ):
            pass
    assert (tmp_path / "r" / "my-notes.txt").read_text() == "mine"


def test_a_run_whose_files_were_edited_needs_overwrite(tmp_path: Path) -> None:
    make_run(tmp_path / "r")
    time.sleep(0.01)
    (tmp_path / "r" / "index.html").write_text("edited by hand")
    with pytest.raises(FileExistsError, match=r"files changed since lstmkit wrote them \(index.html\)"):
        make_run(tmp_path / "r")
    assert (tmp_path / "r" / "index.html").read_text() == "edited by hand"
    with run_folder(tmp_path / "r", "run", overwrite=True):
        pass


def test_a_folder_that_appears_during_the_run_keeps_both(tmp_path: Path) -> None:
    final = tmp_path / "r"
    with (
        pytest.raises(FileExistsError, match=r"this run's results are in .*r-1"),
        run_folder(final, "run") as tmp,
    ):
        Path(tmp, "index.html").write_text("result")
        final.mkdir()
        (final / "theirs.txt").write_text("theirs")
    assert (final / "theirs.txt").read_text() == "theirs"
    assert (tmp_path / "r-1" / "index.html").read_text() == "result"


@pytest.mark.parametrize(
    ("setup", "error", "match"),
    [
        ("file", FileExistsError, "exists and is not a folder"),
        ("symlink", FileExistsError, "is a symbolic link"),
        ("cwd", ValueError, "is the current folder or holds it"),
        ("parent-is-file", OSError, "cannot write in the folder"),
    ],
)
def test_paths_that_cannot_be_run_folders(tmp_path: Path, monkeypatch, setup, error, match) -> None:
    target = tmp_path / "r"
    if setup == "file":
        target.write_text("mine")
    elif setup == "symlink":
        (tmp_path / "elsewhere").mkdir()
        target.symlink_to(tmp_path / "elsewhere")
    elif setup == "cwd":
        target.mkdir()
        monkeypatch.chdir(target)
    else:
        (tmp_path / "afile").write_text("mine")
        target = tmp_path / "afile" / "r"
    with pytest.raises(error, match=match) as info:
        prepare_run_folder(target, "run")
    assert "\n" not in str(info.value)


def test_an_empty_folder_is_used(tmp_path: Path) -> None:
    (tmp_path / "r").mkdir()
    make_run(tmp_path / "r", text="x")
    assert (tmp_path / "r" / "index.html").read_text() == "x"


def test_a_failed_run_leaves_the_old_one_and_no_temporary(tmp_path: Path) -> None:
    make_run(tmp_path / "r")
    with pytest.raises(RuntimeError), run_folder(tmp_path / "r", "run") as tmp:
        Path(tmp, "index.html").write_text("half")
        raise RuntimeError("boom")
    assert (tmp_path / "r" / "index.html").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r"]


def test_config_json_records_the_final_folder(tmp_path: Path) -> None:  # before: the deleted temp
    with run_folder(tmp_path / "r", "textgen") as tmp:
        Path(tmp, "config.json").write_text(json.dumps({"run_dir": tmp, "lr": 1}))
        Path(tmp, "member1").mkdir()
        Path(tmp, "member1", "config.json").write_text(json.dumps({"run_dir": f"{tmp}/member1"}))
    assert json.loads((tmp_path / "r" / "config.json").read_text()) == {
        "run_dir": str(tmp_path / "r"),
        "lr": 1,
    }
    assert json.loads((tmp_path / "r" / "member1" / "config.json").read_text())["run_dir"] == str(
        tmp_path / "r" / "member1"
    )
    make_run(tmp_path / "r", kind="textgen")  # the rewritten files still count as lstmkit's


# ---------------------------------------------------------------------- kills and recovery
KILL_BETWEEN_RENAMES = textwrap.dedent(
    """
    import os, signal, sys
    from pathlib import Path
    from lstmkit.io import runfolder

    real = os.replace
    def replace(src, dst):
        real(src, dst)
        if ".old-" in os.fspath(dst):  # the old run is aside, the new one not yet in place
            os.kill(os.getpid(), signal.SIGKILL)
    runfolder.os.replace = replace
    with runfolder.run_folder(sys.argv[1], "run") as tmp:
        Path(tmp, "index.html").write_text("new")
    """
)


def test_a_kill_between_the_renames_is_recovered(tmp_path: Path) -> None:  # before: nothing left
    final = tmp_path / "r"
    make_run(final, text="old")
    before = tree(final)
    proc = subprocess.run([sys.executable, "-c", KILL_BETWEEN_RENAMES, str(final)], cwd=ROOT)
    assert proc.returncode == -signal.SIGKILL
    assert not final.exists()
    assert any(p.name.startswith(".old-r-") for p in tmp_path.iterdir())
    prepare_run_folder(final, "run")  # the next run puts the old one back
    assert tree(final) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r"]


def test_leftovers_of_killed_runs_are_cleaned(tmp_path: Path) -> None:
    make_run(tmp_path / "r", text="current")
    pid = dead_pid()
    (tmp_path / f".tmp-r-{pid}-abc123").mkdir()  # a killed run's unfinished folder
    (tmp_path / f".tmp-r-{pid}-abc123" / "model.pt").write_bytes(b"x" * 1000)
    old = tmp_path / f".old-r-{pid}-def456"  # the swap finished, the old run was not yet removed
    make_run(old, text="previous")
    live = tmp_path / f".tmp-r-{os.getpid()}-live01"  # a run in progress: left alone
    live.mkdir()
    recover_run_folders(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [live.name, "r"]
    assert (tmp_path / "r" / "index.html").read_text() == "current"


def test_a_set_aside_folder_without_marker_is_kept(tmp_path: Path) -> None:
    (tmp_path / "r").mkdir()
    stray = tmp_path / f".old-r-{dead_pid()}-zzz999"
    stray.mkdir()
    (stray / "x.txt").write_text("unknown")
    recover_run_folders(tmp_path)
    assert (stray / "x.txt").read_text() == "unknown"


SIGTERM_TRAINING = [
    "textgen", "train", "--epochs", "100000", "--hidden-size", "8", "--embed-dim", "4",
    "--layers", "1", "--batch-size", "2", "--bptt", "8", "--ngram-orders", "",
    "--no-progress",
]  # fmt: skip


def test_sigterm_is_handled_like_ctrl_c(tmp_path: Path) -> None:  # before: .tmp-* folders left
    text = tmp_path / "corpus.txt"
    text.write_text("the quick brown fox jumps over the lazy dog. " * 40)
    final = tmp_path / "run"
    make_run(final, kind="textgen", text="previous run")
    before = tree(final)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "lstmkit.cli", *SIGTERM_TRAINING, "--text-file", str(text)]
    proc = subprocess.Popen([*cmd, "--run-dir", str(final)], env=env, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not any(p.name.startswith(".tmp-run-") for p in tmp_path.iterdir()):
        assert proc.poll() is None and time.monotonic() < deadline, "training never started"
        time.sleep(0.05)
    time.sleep(1.0)  # into the training loop
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signal.SIGTERM, err
    assert "terminated" in err and "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["corpus.txt", "run"]
    assert tree(final) == before


# ---------------------------------------------------------------------- single files
def test_stale_temporaries_of_dead_writers_are_removed(tmp_path: Path) -> None:
    target = tmp_path / "model.pt"
    stale = tmp_path / f".model.pt.{dead_pid()}.abcd.tmp"
    stale.write_bytes(b"x" * 4096)
    live = tmp_path / f".model.pt.{os.getpid()}.efgh.tmp"
    live.write_bytes(b"y")
    other = tmp_path / f".other.pt.{dead_pid()}.ijkl.tmp"
    other.write_bytes(b"z")
    atomic_write_bytes(target, b"new")
    assert target.read_bytes() == b"new"
    assert not stale.exists() and live.exists() and other.exists()
    assert remove_stale_temporaries(tmp_path / "other.pt") == [other.name]


def test_atomic_write_never_follows_a_planted_symlink(tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    path = tmp_path / "vocab.json"
    (tmp_path / "vocab.json.tmp").symlink_to(victim)  # the fixed name the old writer used
    from lstmkit.apps.language.text import CharTokenizer

    tok = CharTokenizer()
    tok.fit(["abc"])
    tok.save(path)  # before: wrote through the symlink into victim.txt
    assert victim.read_text() == "precious"
    from lstmkit.apps.language.text import tokenizer_from_state

    assert tokenizer_from_state(json.loads(path.read_text())).encode("cab") == tok.encode("cab")


def test_atomic_write_names_the_file_not_a_temporary(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("x")
    with pytest.raises(OSError, match=r"cannot write .*afile/out.csv") as info:
        atomic_write_bytes(tmp_path / "afile" / "out.csv", b"data")
    assert ".tmp" not in str(info.value)


@pytest.mark.parametrize(
    ("make", "match"),
    [
        ("folder", "expected a file path, got the folder"),
        ("foreign", "exists and is not a model file written by lstmkit"),
        ("under-file", "cannot write in the folder"),
    ],
)
def test_output_files_are_checked_before_the_work(tmp_path: Path, make: str, match: str) -> None:
    path = tmp_path / "out.pt"
    if make == "folder":
        path.mkdir()
    elif make == "foreign":
        path.write_text("my,data\n1,2\n")
    else:
        (tmp_path / "afile").write_text("x")
        path = tmp_path / "afile" / "out.pt"
    with pytest.raises(OSError, match=match):
        check_output_file(path, "--save", torch_file=True)
    if make == "foreign":
        assert path.read_text() == "my,data\n1,2\n"


def test_an_earlier_model_file_may_be_replaced(tmp_path: Path) -> None:
    import torch

    torch.save({"w": torch.zeros(1)}, tmp_path / "m.pt")
    assert check_output_file(tmp_path / "m.pt", "--save", torch_file=True) == tmp_path / "m.pt"


# ---------------------------------------------------------------------- a trainer's run_dir
def test_a_trainer_never_writes_its_logs_over_a_users_folder(tmp_path: Path) -> None:
    import torch
    from torch import nn

    from lstmkit.fit import TrainConfig, Trainer, masked_mse

    user = tmp_path / "project"
    user.mkdir()
    (user / "config.json").write_text('{"mine": true}')  # before: replaced by the trainer's config
    data = [(torch.randn(4, 3), torch.randn(4, 1))]
    cfg = TrainConfig(max_epochs=1, run_dir=str(user), progress=False)
    with pytest.raises(FileExistsError, match=r"run_dir: .*was not made by lstmkit") as info:
        Trainer(nn.Linear(3, 1), cfg, loss_fn=masked_mse).fit(data)
    assert "\n" not in str(info.value)
    assert (user / "config.json").read_text() == '{"mine": true}'
    fresh = tmp_path / "fresh"
    for _ in range(2):  # a new folder is marked, and the same run folder is used again
        Trainer(nn.Linear(3, 1), TrainConfig(max_epochs=1, run_dir=str(fresh), progress=False),
                loss_fn=masked_mse).fit(data)  # fmt: skip
    assert json.loads((fresh / MARKER).read_text())["in_place"] is True
    with pytest.raises(FileExistsError, match="written in place; pass --overwrite"):
        prepare_run_folder(fresh, "textgen")
