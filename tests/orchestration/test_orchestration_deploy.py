"""`skillfoundry deploy` against a real Prefect server on loopback; a worker runs the `ad-hoc` deployment
on the embedded model, a SIGKILL in its student stage is retried by Prefect, and the run's rows land in the
data dir under the flow run's run id, exactly as an uninterrupted run stores them."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from flow_runs import read, state_history, state_of
from prefect.client.orchestration import get_client
from prefect.client.schemas.objects import FlowRun, StateType
from prefect.deployments import run_deployment

from run_shapes import held_out_split_stored, table_shape, uninterrupted_shape
from skillfoundry.config import Settings
from skillfoundry.flows.deploy import PROJECT_FILE, project_root
from skillfoundry.flows.prefect_server import PrefectServer, PrefectWorker
from skillfoundry.llm.llama_build import ENV_OVERRIDE, ensure_llama_server
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


def flow_run_processes(data: Path) -> list[int]:
    """The processes started for the flow run that writes to ``data`` (its job environment names it),
    outermost first: the flow run's own process, then what it started (the llama-server)."""
    marker = f"SKILLFOUNDRY_DATA_DIR={data}".encode()
    found: dict[int, int] = {}
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and marker in (proc / "environ").read_bytes().split(b"\0"):
                found[int(proc.name)] = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except OSError:  # gone, or not ours to read
            continue
    return sorted(found, key=lambda pid: found[pid] in found)


@pytest.mark.server
@pytest.mark.timeout(2400)  # a distillation on the embedded model, killed, then finished by Prefect's retry
def test_a_worker_runs_ad_hoc_and_a_sigkill_is_retried_by_prefect_to_the_rows_of_an_uninterrupted_run(
    deployed, prefect_server, tmp_path: Path
) -> None:
    """kill -9 of the flow run's process while students answer: the worker reports it Crashed, the retry
    automation schedules the same flow run again, a worker runs it under the same run id, and it ends with
    exactly the rows (and the one skill) of an uninterrupted run. The run has caches of its own (answers,
    kernels), so its student stage takes the model's time and the kill lands inside it."""
    data = tmp_path / "data"
    job_env = {
        "SKILLFOUNDRY_DATA_DIR": str(data),
        "SKILLFOUNDRY_CACHE_DIR": str(tmp_path / "cache"),
        ENV_OVERRIDE: str(ensure_llama_server(Settings().cache_dir)),  # the built server, not a new build
        "SKILLFOUNDRY_MAX_TOKENS": "96",
        "SKILLFOUNDRY_TEACHER_MAX_TOKENS": "384",
        "SKILLFOUNDRY_TEACHER_MAX_TURNS": "2",  # the 135M teacher: a short trace is enough here
        "SKILLFOUNDRY_REQUEST_TIMEOUT_S": "1800",
        "SKILLFOUNDRY_TEACHER": "local",
        "SKILLFOUNDRY_STUDENTS": '["local"]',
    }
    with PrefectWorker("skillfoundry", prefect_server.api_url, workdir=ROOT):
        run: FlowRun = run_deployment(
            "nightly-distill/ad-hoc",
            parameters={"cases": 3, "epochs": 2, "train_cases": 1, "refine_rounds": 0},
            job_variables={"env": job_env},
            timeout=0,
        )
        deadline = time.monotonic() + 1800
        while not held_out_split_stored(data) and time.monotonic() < deadline:  # stored just before the students
            assert state_of(run.id) in (StateType.SCHEDULED, StateType.PENDING, StateType.RUNNING)
            time.sleep(0.5)
        time.sleep(2)
        (process, *_) = flow_run_processes(data)
        os.kill(process, signal.SIGKILL)
        run_id = f"nightly-{run.id}"
        con = catalog(data)
        (skill_before,), = con.execute("select skill_id from skills where run_id = ?", [run_id]).fetchall()
        graded = con.execute("select count(distinct gen_id) from grades where run_id = ?", [run_id]).fetchone()[0]
        assert graded < 12  # killed before every answer was graded
        deadline = time.monotonic() + 1200  # the crash report settles, the retry automation, a second attempt
        while state_of(run.id) != StateType.COMPLETED and time.monotonic() < deadline:
            time.sleep(3)
    history = state_history(run.id)
    assert state_of(run.id) == StateType.COMPLETED, history
    assert "CRASHED" in history and asyncio.run(read(run.id)).name.startswith("nightly cuda: local on ")
    con = catalog(data)
    assert {r[0] for r in con.execute("select distinct run_id from runs").fetchall()} == {run_id}
    assert con.execute("select status from runs where run_id = ?", [run_id]).fetchone() == ("completed",)
    assert [r[0] for r in con.execute("select skill_id from skills").fetchall()] == [skill_before]
    assert table_shape(data, run_id) == uninterrupted_shape()
