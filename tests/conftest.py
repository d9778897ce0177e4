"""Every test leaves the process environment as it found it, so no test's settings leak into the next
test's subprocesses (a leaked PREFECT_LOGGING_LEVEL=DEBUG once put Prefect debug lines on a CLI's stderr).
Subprocesses buffer their output as they do for a user: PYTHONUNBUFFERED, set on some CI machines, once hid
that `skillfoundry serve` printed nothing through a pipe until it stopped (found by a newcomer's run)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest


def pytest_configure(config: pytest.Config) -> None:
    os.environ.pop("PYTHONUNBUFFERED", None)


@pytest.fixture(autouse=True)
def _restore_environment() -> Iterator[None]:
    saved = dict(os.environ)
    yield
    if os.environ != saved:
        os.environ.clear()
        os.environ.update(saved)
