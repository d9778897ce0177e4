"""`skillfoundry deploy`: the work pool and the deployments of prefect.yaml, registered on a Prefect API."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import yaml
from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import WorkPoolCreate
from prefect.exceptions import ObjectNotFound

PROJECT_FILE = "prefect.yaml"


class DeployError(RuntimeError):
    """prefect.yaml is missing or wrong, or Prefect refused a deployment (one line)."""


def project_root(start: Path | None = None) -> Path:
    """The folder holding prefect.yaml: the checkout this package runs from, else the working directory."""
    for folder in [Path(__file__).resolve(), *Path(__file__).resolve().parents]:
        if (folder / PROJECT_FILE).is_file():
            return folder
    return start or Path.cwd()


def pools_of(prefect_file: Path) -> list[str]:
    """The work pools the deployments of ``prefect_file`` name, in order."""
    try:
        config = yaml.safe_load(prefect_file.read_text())
        names = [d["work_pool"]["name"] for d in config["deployments"]]
    except (OSError, yaml.YAMLError, KeyError, TypeError) as err:
        raise DeployError(f"{prefect_file}: expected deployments each with work_pool.name ({err})") from None
    return list(dict.fromkeys(names))


async def ensure_work_pool(name: str, pool_type: str = "process") -> bool:
    """Create the work pool when missing; True when it was created."""
    async with get_client() as client:
        try:
            await client.read_work_pool(name)
            return False
        except ObjectNotFound:
            await client.create_work_pool(WorkPoolCreate(name=name, type=pool_type))
            return True


def register_deployments(prefect_file: Path, api_url: str) -> str:
    """``prefect deploy --all`` for ``prefect_file`` against ``api_url``; Prefect's output."""
    env = {**os.environ, "PREFECT_API_URL": api_url}
    done = subprocess.run(
        [sys.executable, "-m", "prefect", "--no-prompt", "deploy", "--all", "--prefect-file", str(prefect_file)],
        cwd=prefect_file.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if done.returncode != 0:
        tail = " | ".join(line.strip() for line in (done.stdout + done.stderr).splitlines() if line.strip())[-800:]
        raise DeployError(f"prefect deploy failed for {prefect_file} (exit {done.returncode}): {tail}")
    return done.stdout


def deploy(prefect_file: Path, api_url: str) -> list[str]:
    """Create missing work pools, then register every deployment; the pools created."""
    created = [pool for pool in pools_of(prefect_file) if asyncio.run(ensure_work_pool(pool))]
    register_deployments(prefect_file, api_url)
    return created
