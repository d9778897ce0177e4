"""`--task-runner dask`: the same evaluation on a LocalCluster of 2 workers stores the same rows as on threads."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from skillfoundry.flows.runners import TaskRunnerError, task_runner_from
from skillfoundry.storage.catalog import catalog

SKILL_MD = """---
name: polite-greeting
description: Greet the user politely and by name. Use when asked to greet someone.
---
Say "Hello" followed by the person's name, then wish them a good day.
"""


class Echo(BaseHTTPRequestHandler):
    """An OpenAI chat server whose answer depends only on the request: with the skill in the prompt it
    greets with "Hello NAME", without it with "Hi"."""

    def do_POST(self) -> None:  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["content-length"])))
        text = json.dumps(body["messages"])
        name = text.rsplit("Greet ", 1)[-1].split(".")[0]
        content = f"Hello {name}, have a good day." if "followed by the person" in text else "Hi."
        reply = json.dumps({
            "id": "c", "object": "chat.completion", "created": 0, "model": body["model"],
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
        }).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def echo() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()


def make_skill(root: Path) -> Path:
    folder = root / "polite-greeting"
    (folder / "evals").mkdir(parents=True)
    (folder / "SKILL.md").write_text(SKILL_MD)
    evals = [
        {"id": f"greet-{n.lower()}", "prompt": f"Greet {n}.", "expected_output": f"Hello {n}",
         "assertions": [{"text": "says hello", "check": {"type": "contains", "values": ["hello", n.lower()]}}]}
        for n in ("Ada", "Bob", "Cy", "Di")
    ]
    (folder / "evals" / "evals.json").write_text(json.dumps({"skill_name": "polite-greeting", "evals": evals}))
    return folder


def rows(data: Path) -> list[tuple]:
    return catalog(data).execute(
        """
        select g.case_id, g.condition, g.epoch, g.text, gr.grader, gr.passed
        from generations g join grades gr using (gen_id) order by all
        """
    ).fetchall()


def test_dask_gives_the_same_rows_as_threads(prefect_server, echo: str, tmp_path: Path) -> None:
    skill = make_skill(tmp_path)
    env = {**os.environ, "SKILLFOUNDRY_CONCURRENCY": "2"}
    stored = {}
    for runner in ("threads", "dask"):
        data = tmp_path / runner
        done = subprocess.run(
            [sys.executable, "-m", "skillfoundry", "eval", str(skill), "--student", f"openai:echo@{echo}",
             "--epochs", "2", "--data-dir", str(data), "--run-id", "same", "--task-runner", runner],
            capture_output=True, text=True, env=env, timeout=600,
        )
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
        assert ("Creating a new Dask cluster" in done.stdout + done.stderr) == (runner == "dask")
        stored[runner] = rows(data)
        report = data / "reports" / "same.html"
        assert report.read_text().startswith("<!doctype html>")  # the run summary links this page
    assert len(stored["threads"]) == 4 * 2 * 2  # cases x conditions x epochs, one grader
    assert stored["dask"] == stored["threads"]
    assert {r[5] for r in stored["threads"] if r[1] == "with_skill"} == {True}
    assert {r[5] for r in stored["threads"] if r[1] == "baseline"} == {False}


def test_task_runner_values() -> None:
    assert task_runner_from(None) is None and task_runner_from("threads") is None
    assert type(task_runner_from("dask")).__name__ == "DaskTaskRunner"
    assert task_runner_from("dask=tcp://10.0.0.1:8786").address == "tcp://10.0.0.1:8786"
    for bad in ("ray", "dask=", "threads=4"):
        with pytest.raises(TaskRunnerError, match="expected 'threads', 'dask' or 'dask=tcp://HOST:PORT'"):
            task_runner_from(bad)
