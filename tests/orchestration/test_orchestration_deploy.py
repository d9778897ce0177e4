"""`skillfoundry deploy` against a real Prefect server on loopback; a worker runs the `ad-hoc` deployment
on the embedded model and the run's rows land in the data dir under the flow run's run id."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.objects import FlowRun
from prefect.deployments import run_deployment

from skillfoundry.flows.deploy import PROJECT_FILE, project_root
from skillfoundry.flows.prefect_server import PrefectServer, PrefectWorker
from skillfoundry.storage.catalog import catalog

ROOT = project_root()


def cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "skillfoundry", *args], capture_output=True, text=True, env=env, timeout=900
    )


async def deployments_of(flow_name: str) -> dict[str, str]:
    async with get_client() as client:
        found = await client.read_deployments()
        flows = {f.id: f.name for f in await client.read_flows()}
    return {d.name: d.work_pool_name for d in found if flows.get(d.flow_id) == flow_name}


async def pool_type(name: str) -> str:
    async with get_client() as client:
        return (await client.read_work_pool(name)).type


@pytest.fixture(scope="module")
def deployed(prefect_server: PrefectServer) -> subprocess.CompletedProcess[str]:
    done = cli("deploy", env={**os.environ, "PREFECT_API_URL": prefect_server.api_url})
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return done


def test_deploy_needs_a_prefect_api(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    env["PREFECT_HOME"] = str(tmp_path)
    done = cli("deploy", env=env)
    assert done.returncode == 2
    assert "PREFECT_API_URL is not set" in done.stderr


def test_deploy_creates_the_pool_and_registers_both_deployments(deployed, prefect_server) -> None:
    assert asyncio.run(pool_type("skillfoundry")) == "process"
    assert asyncio.run(deployments_of("nightly-distill")) == {"nightly": "skillfoundry", "ad-hoc": "skillfoundry"}
    assert "created work pool skillfoundry" in deployed.stdout
    assert "prefect worker start --pool skillfoundry" in deployed.stdout
    again = cli("deploy", env={**os.environ, "PREFECT_API_URL": prefect_server.api_url})
    assert again.returncode == 0 and "created work pool" not in again.stdout  # idempotent
    assert (ROOT / PROJECT_FILE).is_file()


@pytest.mark.server
@pytest.mark.timeout(2400)  # a whole distillation on the embedded model (about 2 minutes on an idle machine)
def test_a_worker_runs_ad_hoc_to_completion(deployed, prefect_server, tmp_path: Path) -> None:
    data = tmp_path / "data"
    job_env = {
        "SKILLFOUNDRY_DATA_DIR": str(data),
        "SKILLFOUNDRY_MAX_TOKENS": "96",
        "SKILLFOUNDRY_TEACHER_MAX_TOKENS": "384",
        "SKILLFOUNDRY_TEACHER_MAX_TURNS": "2",  # the 135M teacher: a short trace is enough here
        "SKILLFOUNDRY_TEACHER": "local",
        "SKILLFOUNDRY_STUDENTS": '["local"]',
    }
    with PrefectWorker("skillfoundry", prefect_server.api_url, workdir=ROOT):
        run: FlowRun = run_deployment(
            "nightly-distill/ad-hoc",
            parameters={"cases": 1, "epochs": 1, "train_cases": 1, "refine_rounds": 0},
            job_variables={"env": job_env},
            timeout=2100,
        )
    assert run.state is not None and run.state.is_completed(), run.state
    assert run.name.startswith("nightly cuda: local on ")
    con = catalog(data)
    run_ids = {r[0] for r in con.execute("select distinct run_id from runs").fetchall()}
    assert run_ids == {f"nightly-{run.id}"}
    (answers,) = con.execute("select count(*) from generations").fetchone()
    assert answers == 2  # 1 student x 1 case x {baseline, with skill} x 1 epoch
