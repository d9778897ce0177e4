"""Build (once) and cache the llama-server binary from the llama.cpp vendored in llama-cpp-python's sdist.

The cache key holds the llama-cpp-python version, the machine type, and a hash of this CPU's feature
flags and the cmake flags: ``GGML_NATIVE`` compiles for the building CPU, so a cache copied to another
CPU is never reused. ``SKILLFOUNDRY_LLAMA_SERVER=/path/to/llama-server`` skips all of this.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import platform
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath

from skillfoundry.config import default_cache_dir

LLAMA_CPP_PYTHON_VERSION = "0.3.36"
ENV_OVERRIDE = "SKILLFOUNDRY_LLAMA_SERVER"
CMAKE_FLAGS = (
    "-DCMAKE_BUILD_TYPE=Release",
    "-DBUILD_SHARED_LIBS=OFF",
    "-DLLAMA_OPENSSL=OFF",
    "-DLLAMA_USE_PREBUILT_UI=OFF",
    "-DLLAMA_BUILD_UI=OFF",
    "-DLLAMA_BUILD_TESTS=OFF",
    "-DLLAMA_BUILD_EXAMPLES=OFF",
    "-DGGML_NATIVE=ON",
)
SDIST_NAME = f"llama_cpp_python-{LLAMA_CPP_PYTHON_VERSION}.tar.gz"
VENDOR_DIR = "vendor/llama.cpp/"


class LlamaBuildError(RuntimeError):
    """llama-server could not be found or built (one line: what failed and where the log is)."""


def cpu_flags() -> str:
    """This CPU's feature flags (Linux /proc/cpuinfo), or a platform description elsewhere."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() in ("flags", "Features"):
                return " ".join(sorted(value.split()))
    except OSError:
        pass
    return f"{platform.processor()} {platform.platform()}"


def cache_key(flags: str | None = None) -> str:
    """``<version>-<machine>-<hash of CPU flags and cmake flags>``."""
    digest = hashlib.sha256(
        "\n".join([cpu_flags() if flags is None else flags, *CMAKE_FLAGS]).encode()
    ).hexdigest()[:12]
    return f"{LLAMA_CPP_PYTHON_VERSION}-{platform.machine() or 'unknown'}-{digest}"


def cached_binary_path(cache_dir: Path | None = None) -> Path:
    """Where ensure_llama_server keeps the binary for this CPU."""
    root = default_cache_dir() if cache_dir is None else Path(cache_dir)
    return root / "llama-server" / cache_key() / "llama-server"


def ensure_llama_server(
    cache_dir: Path | None = None,
    *,
    jobs: int | None = None,
    log: Callable[[str], None] | None = None,
) -> Path:
    """Return a llama-server binary: the env override, the cached build, or a fresh build (minutes)."""
    override = os.environ.get(ENV_OVERRIDE)
    if override:
        path = Path(override)
        if not (path.is_file() and os.access(path, os.X_OK)):
            raise LlamaBuildError(f"{ENV_OVERRIDE}={override}: expected an executable llama-server binary")
        return path
    target = cached_binary_path(cache_dir)
    if target.is_file():
        return target
    say = log or (lambda _msg: None)
    _check_tools()
    target.parent.mkdir(parents=True, exist_ok=True)
    with _file_lock(target.parent / ".lock"):
        if target.is_file():  # another process built it while we waited
            return target
        root = target.parents[2]
        sdist = _ensure_sdist(root / "sdist", say)
        _build(sdist, target, jobs or os.cpu_count() or 2, say)
    return target


def _check_tools() -> None:
    missing = [name for name in ("cmake",) if shutil.which(name) is None]
    if not any(shutil.which(cxx) for cxx in ("c++", "g++", "clang++")):
        missing.append("a C++ compiler (g++ or clang++)")
    if missing:
        raise LlamaBuildError(
            f"cannot build llama-server: {' and '.join(missing)} not found on PATH; install them "
            f"(e.g. apt-get install cmake g++) or set {ENV_OVERRIDE}=/path/to/llama-server"
        )


@contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _ensure_sdist(folder: Path, say: Callable[[str], None]) -> Path:
    """The llama-cpp-python sdist from PyPI (pip download), reused when already in the cache."""
    path = folder / SDIST_NAME
    if path.is_file():
        return path
    folder.mkdir(parents=True, exist_ok=True)
    say(f"downloading llama-cpp-python=={LLAMA_CPP_PYTHON_VERSION} sdist from PyPI")
    with tempfile.TemporaryDirectory(dir=folder, prefix="download-") as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:", "--dest", tmp,
               f"llama-cpp-python=={LLAMA_CPP_PYTHON_VERSION}"]
        done = subprocess.run(cmd, capture_output=True, text=True)
        found = sorted(Path(tmp).glob("*.tar.gz"))
        if done.returncode != 0 or not found:
            tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
            raise LlamaBuildError(f"pip download of llama-cpp-python=={LLAMA_CPP_PYTHON_VERSION} failed: {tail}")
        os.replace(found[0], path)
    return path


def _vendor_members(archive: tarfile.TarFile) -> list[tarfile.TarInfo]:
    """The sdist's ``<top>/vendor/llama.cpp`` files, without git metadata."""
    chosen = []
    for member in archive.getmembers():
        inner = member.name.split("/", 1)[-1]
        if inner.startswith(VENDOR_DIR) and ".git" not in PurePosixPath(inner).parts:
            chosen.append(member)
    return chosen


def unsafe_reason(member: tarfile.TarInfo) -> str | None:
    """Why ``member`` must not be extracted, or None for a plain file or folder under the destination."""
    path = PurePosixPath(member.name)
    if not member.name or path.is_absolute():
        return "an absolute or empty path"
    if ".." in path.parts:
        return "a path with '..'"
    if member.issym() or member.islnk():
        return f"a link to {member.linkname!r}"
    if not (member.isreg() or member.isdir()):
        return "a device, FIFO or other special file"
    return None


def extract_safely(archive: tarfile.TarFile, members: list[tarfile.TarInfo], dest: Path) -> None:
    """Extract plain files and folders only; any other member fails the whole extraction up front.

    Every member is checked here (``unsafe_reason``) on every Python. Where tarfile has the ``data``
    filter (3.11.4+, 3.12+) it is applied as well; older Pythons (Debian 12's 3.11.2) get the same
    result from a copy that writes file contents only: no owners, no special mode bits.
    """
    for member in members:
        if (why := unsafe_reason(member)) is not None:
            raise LlamaBuildError(f"{archive.name}: refusing to extract {member.name!r}: {why}")
    if hasattr(tarfile, "data_filter"):
        archive.extractall(dest, members=members, filter="data")
        return
    root = dest.resolve()
    for member in members:
        path = (root / member.name).resolve()
        if not path.is_relative_to(root):  # unreachable after the checks above; a last guard
            raise LlamaBuildError(f"{archive.name}: refusing to extract {member.name!r}: outside {dest}")
        if member.isdir():
            path.mkdir(parents=True, exist_ok=True)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        source = archive.extractfile(member)
        assert source is not None  # a regular file always has contents
        with source, open(path, "wb") as out:
            shutil.copyfileobj(source, out)
        path.chmod(0o755 if member.mode & 0o100 else 0o644)


def _build(sdist: Path, target: Path, jobs: int, say: Callable[[str], None]) -> None:
    log_path = target.parent / "build.log"
    with tempfile.TemporaryDirectory(dir=target.parent, prefix="build-") as tmp, open(log_path, "w") as log_file:
        work = Path(tmp)
        say(f"extracting llama.cpp from {sdist.name}")
        with tarfile.open(sdist) as archive:
            members = _vendor_members(archive)
            if not members:
                raise LlamaBuildError(f"{sdist}: expected a {VENDOR_DIR} folder in the sdist")
            extract_safely(archive, members, work / "src")
        source = next((work / "src").glob(f"*/{VENDOR_DIR}"))
        build = work / "build"
        steps = [
            ("configuring", ["cmake", "-S", str(source), "-B", str(build), *CMAKE_FLAGS]),
            (f"compiling with {jobs} jobs (several minutes)",
             ["cmake", "--build", str(build), "--target", "llama-server", "-j", str(jobs)]),
        ]
        started = time.monotonic()
        for what, cmd in steps:
            say(f"llama-server: {what}")
            log_file.write(f"$ {' '.join(cmd)}\n")
            log_file.flush()
            if subprocess.run(cmd, stdout=log_file, stderr=subprocess.STDOUT).returncode != 0:
                raise LlamaBuildError(f"llama-server build failed while {what.split(' ')[0]}; see {log_path}")
        binary = build / "bin" / "llama-server"
        if not binary.is_file():
            raise LlamaBuildError(f"llama-server build produced no {binary}; see {log_path}")
        staged = target.with_name(f".llama-server.{os.getpid()}.tmp")
        shutil.copy2(binary, staged)
        staged.chmod(0o755)
        os.replace(staged, target)
        say(f"llama-server built in {time.monotonic() - started:.0f} s: {target}")
