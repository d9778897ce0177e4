"""Prefect defaults: analytics off for the Prefect skillfoundry starts, unless the user set the switch."""

from __future__ import annotations

import os
import subprocess
import sys

from skillfoundry.flows.prefect_env import ANALYTICS_SETTING, apply_prefect_defaults, prefect_defaults


def test_analytics_are_off_by_default() -> None:
    env: dict[str, str] = {"HOME": "/h"}
    apply_prefect_defaults(env)
    assert env == {"HOME": "/h", ANALYTICS_SETTING: "false", "DO_NOT_TRACK": "1"}


def test_a_user_who_set_analytics_keeps_them_and_no_setting_of_theirs_is_replaced() -> None:
    assert prefect_defaults({ANALYTICS_SETTING: "true"}) == {}
    assert prefect_defaults({"DO_NOT_TRACK": "0"}) == {ANALYTICS_SETTING: "false"}


PROBE = """
import sys
import typer.testing
from skillfoundry.cli import app
assert "prefect" not in sys.modules
typer.testing.CliRunner().invoke(app, ["kernels", "list"])
import prefect.settings
print(prefect.settings.get_current_settings().server.analytics_enabled)
"""


def test_the_cli_turns_prefect_analytics_off_before_prefect_reads_its_settings() -> None:
    env = {k: v for k, v in os.environ.items() if k not in (ANALYTICS_SETTING, "DO_NOT_TRACK")}
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "False"
    opted_in = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, env={**env, ANALYTICS_SETTING: "true"}, timeout=300
    )
    assert opted_in.stdout.strip().splitlines()[-1] == "True", opted_in.stderr[-2000:]
