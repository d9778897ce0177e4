"""prefect.yaml: every deployment points at a real flow and its parameters fit the flow's signature."""

from __future__ import annotations

import importlib.util
import inspect
from pathlib import Path

import yaml
from prefect import Flow
from prefect.server.schemas.schedules import CronSchedule

ROOT = Path(__file__).resolve().parents[2]


def load_entrypoint(entrypoint: str) -> Flow:
    path, _, name = entrypoint.partition(":")
    spec = importlib.util.spec_from_file_location("deployment_module", ROOT / path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, name)


def test_deployments_name_flows_and_valid_parameters() -> None:
    config = yaml.safe_load((ROOT / "prefect.yaml").read_text())
    names = {d["name"] for d in config["deployments"]}
    assert {"nightly", "ad-hoc"} <= names
    for deployment in config["deployments"]:
        flow = load_entrypoint(deployment["entrypoint"])
        assert isinstance(flow, Flow)
        inspect.signature(flow.fn).bind(**deployment.get("parameters", {}))
        assert deployment["work_pool"]["name"] == "skillfoundry"


def test_nightly_is_scheduled_by_cron() -> None:
    config = yaml.safe_load((ROOT / "prefect.yaml").read_text())
    (nightly,) = [d for d in config["deployments"] if d["name"] == "nightly"]
    (schedule,) = nightly["schedules"]
    assert CronSchedule(cron=schedule["cron"], timezone=schedule["timezone"]).cron == "0 2 * * *"
