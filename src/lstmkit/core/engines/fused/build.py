"""Build and load the fused C++ extension (compiled once per environment, then cached).

The kernels in ``lstmkit/core/engines/fused/csrc`` are compiled on first use with
:func:`torch.utils.cpp_extension.load` (a C++ compiler and ``ninja``, which the setup
installs, are all it needs) and cached under ``$LSTMKIT_CACHE_DIR`` (default
``~/.cache/lstmkit``), in a folder named after the torch and Python versions and the CPU
capability and a sub-folder per source version, checkout and environment, so a later process
only loads the library. Processes building or loading in one folder take turns (an ``flock``,
see :func:`build_lock`). ``make setup`` runs
``python -m lstmkit.core.engines.fused`` so that the one compile happens before the tests.

When the extension cannot be built or loaded, or ``LSTMKIT_DISABLE_EXTENSION=1`` is set,
:func:`load_extension` returns ``None``; the layers then run the reference path and
:func:`warn_unavailable` says so once per process.

Command line: ``python -m lstmkit.core.engines.fused [--strict] [--verbose]`` compiles (or loads)
the extension and prints where it lives; ``--strict`` exits non-zero when it is unavailable.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import sys
import threading
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType

import torch

__all__ = [
    "CACHE_ENV",
    "DISABLE_ENV",
    "build_directory",
    "build_lock",
    "extension_available",
    "extension_error",
    "load_extension",
    "main",
    "require_extension",
    "warn_unavailable",
]

DISABLE_ENV = "LSTMKIT_DISABLE_EXTENSION"
CACHE_ENV = "LSTMKIT_CACHE_DIR"
_lock = threading.Lock()
_loaded: dict[str, ModuleType | str] = {}  # "module" -> module, or "error" -> reason
_warned = False


def _capability() -> str:
    try:
        return str(torch.backends.cpu.get_cpu_capability()).lower()
    except Exception:  # pragma: no cover - very old torch
        return "default"


def _isa_flags(capability: str) -> list[str]:
    """Instruction-set flags matching the capability torch itself dispatches to."""
    if platform.machine().lower() not in ("x86_64", "amd64"):
        return []
    if capability.startswith("avx512"):
        return [
            "-mavx512f",
            "-mavx512dq",
            "-mavx512bw",
            "-mavx512vl",
            "-mavx2",
            "-mfma",
            "-mprefer-vector-width=512",
        ]
    if capability.startswith("avx2"):
        return ["-mavx2", "-mfma"]
    return []


def _kernel_files(src_dir: Path) -> tuple[list[Path], list[Path]]:
    """The kernel sources (every ``.cpp`` of ``src_dir``, each compiled) and headers (``.h``)."""
    return sorted(src_dir.glob("*.cpp")), sorted(src_dir.glob("*.h"))


def _source_tag(flags: list[str]) -> str:
    """A short hash of the kernel sources, the flags and where the sources and torch's headers
    are: each version builds in its own folder under its own name, so processes of different
    versions (or a stale build) never mix. The two paths are part of the compile command, so
    two checkouts or environments sharing one folder would make ninja rebuild at each switch
    (and wait on each other's builds)."""
    digest = hashlib.sha1()
    src_dir = Path(__file__).parent / "csrc"
    sources, headers = _kernel_files(src_dir)
    for path in (*sources, *headers):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    digest.update(" ".join(flags).encode())
    digest.update(f"{src_dir.resolve()}|{Path(torch.__file__).resolve().parent}".encode())
    return digest.hexdigest()[:10]


def build_directory() -> Path:
    """Where the compiled extensions are cached (one sub-folder per source version)."""
    root = os.environ.get(CACHE_ENV) or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "lstmkit"
    )
    tag = (
        f"torch{torch.__version__.split('+')[0]}-py{sys.version_info.major}{sys.version_info.minor}"
        f"-{platform.machine().lower()}-{_capability()}"
    )
    return Path(root) / "extensions" / tag


def _ninja_on_path() -> None:
    """Put the ``ninja`` of the ``ninja`` package (installed by the setup) on PATH."""
    try:
        import ninja  # type: ignore[import-not-found]

        bin_dir = str(getattr(ninja, "BIN_DIR", ""))
    except ImportError:
        bin_dir = ""
    scripts = os.path.dirname(sys.executable)
    path = os.environ.get("PATH", "")
    for extra in (bin_dir, scripts):
        if extra and extra not in path.split(os.pathsep):
            path = extra + os.pathsep + path
    os.environ["PATH"] = path


@contextmanager
def build_lock(build_dir: Path) -> Iterator[None]:
    """Hold ``build_dir`` for this process's build or load of the extension.

    torch's ``load`` guards a build folder with a plain ``lock`` file that a killed process
    leaves behind, and every later process then waits for it forever. This lock is an
    ``flock`` on ``build_dir/lstmkit.lock``, which the kernel releases when its holder dies.
    Every lstmkit process calls ``load`` only while holding it, so a torch ``lock`` file found
    by the holder is stale: it is removed, with a warning. Where ``fcntl`` is missing
    (Windows) nothing is locked.
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    with open(build_dir / "lstmkit.lock", "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(f"lstmkit: waiting for another process building in {build_dir} ...", file=sys.stderr)
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            stale = build_dir / "lock"
            if stale.exists():
                warnings.warn(
                    f"lstmkit: removing {stale}, left by a build that was killed",
                    RuntimeWarning,
                    stacklevel=3,
                )
                stale.unlink(missing_ok=True)
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _compile(verbose: bool) -> ModuleType:
    from torch.utils.cpp_extension import load

    src_dir = Path(__file__).parent / "csrc"
    sources = [str(path) for path in _kernel_files(src_dir)[0]]
    if not sources:
        raise FileNotFoundError(f"fused kernel sources missing from the package: no .cpp file in {src_dir}")
    _ninja_on_path()
    cap = _capability()
    # -fopenmp: at::parallel_for in the kernels is OpenMP (ATen's backend); without the flag
    # its pragmas compile to nothing and the kernels run on one thread. The extension's
    # libgomp.so.1 resolves to the copy torch has already loaded (same soname): one pool.
    base = ["-O3", "-fno-math-errno", "-fno-trapping-math", "-fopenmp"]

    def build(flags: list[str]) -> object:
        tag = _source_tag(flags)
        build_dir = build_directory() / tag
        build_dir.mkdir(parents=True, exist_ok=True)
        with build_lock(build_dir):
            return load(
                name=f"lstmkit_fused_{tag}",
                sources=sources,
                extra_cflags=flags,
                extra_ldflags=["-fopenmp"],
                extra_include_paths=[str(src_dir)],
                build_directory=str(build_dir),
                verbose=verbose,
            )

    try:
        module = build(base + _isa_flags(cap))
    except Exception:
        if not _isa_flags(cap):
            raise
        module = build(base)  # a compiler that rejects the instruction-set flags: portable build
    if not isinstance(module, ModuleType):
        raise TypeError(f"torch.utils.cpp_extension.load returned {type(module).__name__}, expected a module")
    return module


def load_extension(verbose: bool = False) -> ModuleType | None:
    """The compiled extension module, building it on first use; ``None`` if unavailable."""
    if os.environ.get(DISABLE_ENV, "") not in ("", "0"):
        return None
    cached = _loaded.get("module")  # loaded: no lock (torch.compile traces no lock either)
    if isinstance(cached, ModuleType):
        return cached
    with _lock:
        cached = _loaded.get("module")
        if isinstance(cached, ModuleType):
            return cached
        if "error" in _loaded:
            return None
        try:
            module = _compile(verbose)
        except Exception as exc:  # compiler missing, build error, load error
            text = str(exc).strip().splitlines()
            _loaded["error"] = f"{type(exc).__name__}: " + (" / ".join(text[-6:]) if text else "")
            return None
        _loaded["module"] = module
        return module


@torch.compiler.assume_constant_result
def extension_available() -> bool:
    """Whether the extension loads (building it on first use); a constant to ``torch.compile``,
    which runs it once while tracing instead of tracing into the build."""
    return load_extension() is not None


def extension_error() -> str | None:
    """Why the extension is unavailable (``None`` if it loads)."""
    if os.environ.get(DISABLE_ENV, "") not in ("", "0"):
        return f"disabled by {DISABLE_ENV}={os.environ[DISABLE_ENV]}"
    if load_extension() is not None:
        return None
    return str(_loaded.get("error", "unknown error"))


def require_extension() -> ModuleType:
    """The extension, or ``RuntimeError`` saying why it is unavailable."""
    module = load_extension()
    if module is None:
        raise RuntimeError(f"lstmkit fused extension unavailable: {extension_error()}")
    return module


def warn_unavailable(what: str = "the fused LSTM engine") -> None:
    """Warn, once per process, that ``what`` falls back to the reference path."""
    global _warned
    if _warned:
        return
    _warned = True
    warnings.warn(
        f"lstmkit: {what} is unavailable ({extension_error()}); using the reference path "
        "(correct but slower). Install a C++ compiler and run "
        "`python -m lstmkit.core.engines.fused --verbose` "
        "to see the build log.",
        RuntimeWarning,
        stacklevel=3,
    )


def _reset() -> None:
    """Forget the loaded module, the error and the warning (tests only)."""
    global _warned
    with _lock:
        _loaded.clear()
    _warned = False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m lstmkit.core.engines", description="Compile (or load) lstmkit's fused C++ extension."
    )
    parser.add_argument(
        "--strict", action="store_true", help="exit with status 1 if the extension is unavailable"
    )
    parser.add_argument("--verbose", action="store_true", help="show the compiler's output")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    print(f"lstmkit: building the fused extension in {build_directory()} ...", file=sys.stderr)
    module = load_extension(verbose=args.verbose)
    if module is None:
        print(f"lstmkit: fused extension unavailable: {extension_error()}", file=sys.stderr)
        print("lstmkit: the layers will use the reference path (correct, slower).", file=sys.stderr)
        return 1 if args.strict else 0
    print(
        f"lstmkit: fused extension ready in {time.perf_counter() - start:.1f} s "
        f"({module.__file__}; matrix products: {module.gemm_backend()})",
        file=sys.stderr,
    )
    return 0
