"""llama-server build cache: keys, override, extraction, missing tools (the full build is a benchmark)."""

from __future__ import annotations

import io
import stat
import tarfile
from pathlib import Path

import pytest

from skillfoundry.llm import llama_build
from skillfoundry.llm.llama_build import (
    ENV_OVERRIDE,
    LLAMA_CPP_PYTHON_VERSION,
    LlamaBuildError,
    cache_key,
    cached_binary_path,
    ensure_llama_server,
)


def test_cache_key_depends_on_cpu_flags_and_names_version() -> None:
    a, b = cache_key("sse4_2 avx2"), cache_key("sse4_2 avx2 avx512f")
    assert a != b and a == cache_key("sse4_2 avx2")
    assert a.startswith(LLAMA_CPP_PYTHON_VERSION + "-")
    assert cached_binary_path(Path("/c")) == Path("/c/llama-server") / cache_key() / "llama-server"


def test_env_override_is_used_as_is(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    binary = tmp_path / "my-llama-server"
    binary.write_text("#!/bin/sh\n")
    binary.chmod(binary.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv(ENV_OVERRIDE, str(binary))
    assert ensure_llama_server(tmp_path / "cache") == binary
    monkeypatch.setenv(ENV_OVERRIDE, str(tmp_path / "missing"))
    with pytest.raises(LlamaBuildError, match=ENV_OVERRIDE) as err:
        ensure_llama_server(tmp_path / "cache")
    assert "\n" not in str(err.value)


def test_missing_cmake_is_a_one_line_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_OVERRIDE, raising=False)
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    with pytest.raises(LlamaBuildError, match="cmake") as err:
        ensure_llama_server(tmp_path / "cache")
    assert "\n" not in str(err.value)
    assert not (tmp_path / "cache" / "sdist").exists()  # failed before any download


def test_cached_binary_is_returned_without_building(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_OVERRIDE, raising=False)
    target = cached_binary_path(tmp_path)
    target.parent.mkdir(parents=True)
    target.write_bytes(b"binary")
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))  # a build would fail: no cmake
    assert ensure_llama_server(tmp_path) == target


def test_only_vendored_llama_cpp_is_extracted_without_git(tmp_path: Path) -> None:
    names = [
        "pkg-1/vendor/llama.cpp/CMakeLists.txt",
        "pkg-1/vendor/llama.cpp/tools/server/server.cpp",
        "pkg-1/vendor/llama.cpp/.git",
        "pkg-1/vendor/llama.cpp/.github/workflows/x.yml",
        "pkg-1/.git/modules/vendor/llama.cpp/HEAD",
        "pkg-1/llama_cpp/__init__.py",
    ]
    path = tmp_path / "sdist.tar.gz"
    with tarfile.open(path, "w:gz") as archive:
        for name in names:
            info = tarfile.TarInfo(name)
            info.size = 1
            archive.addfile(info, io.BytesIO(b"x"))
    with tarfile.open(path) as archive:
        chosen = [m.name for m in llama_build._vendor_members(archive)]
    assert chosen == [names[0], names[1], names[3]]
