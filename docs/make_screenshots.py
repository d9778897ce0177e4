"""Screenshots of the Prefect UI for the README: a real `skillfoundry eval` run against `skillfoundry ui`.

Run: ``python docs/make_screenshots.py`` (needs ``chromium``). Starts the UI on a free loopback port with
its own PREFECT_HOME, runs an evaluation against an instant loopback model, then takes headless
Chromium screenshots of the flow run page and its summary and lift artifacts into docs/.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

DOCS = Path(__file__).resolve().parent
SKILL_MD = """---
name: polite-greeting
description: Greet the user politely and by name. Use when asked to greet someone.
---
Say "Hello" followed by the person's name, then wish them a good day.
"""


class Echo(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["content-length"])))
        text = json.dumps(body["messages"])
        content = "Hello, have a good day." if "followed by the person" in text else "Hi."
        reply = json.dumps({
            "id": "c", "object": "chat.completion", "created": 0, "model": body["model"],
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
        }).encode()
        self.send_response(200)
        self.send_header("content-length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, *args: object) -> None:
        pass


def wait_healthy(url: str, timeout_s: float = 300) -> None:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with opener.open(url, timeout=2):
                return
        except OSError:
            time.sleep(1)
    raise SystemExit(f"{url} did not answer")


def shoot(url: str, out: Path) -> None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if not browser:
        raise SystemExit("chromium not found: apt-get install chromium")
    subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--window-size=1500,1000",
         "--virtual-time-budget=20000", f"--screenshot={out}", url],
        check=True, capture_output=True, timeout=180,
    )
    print(f"wrote {out}")


def main() -> None:
    from skillfoundry.llm.servers import free_port

    root = Path(tempfile.mkdtemp(prefix="sf-shots-"))
    port = free_port()
    env = {**os.environ, "PREFECT_HOME": str(root / "prefect"), "PREFECT_API_URL": f"http://127.0.0.1:{port}/api"}
    skill = root / "polite-greeting"
    (skill / "evals").mkdir(parents=True)
    (skill / "SKILL.md").write_text(SKILL_MD)
    evals = [{"id": f"greet-{n}", "prompt": f"Greet {n}.", "expected_output": "Hello",
              "assertions": [{"text": "says hello", "check": {"type": "contains", "values": ["hello"]}}]}
             for n in ("Ada", "Bob", "Cy", "Di", "Eve", "Fay")]
    (skill / "evals" / "evals.json").write_text(json.dumps({"skill_name": "polite-greeting", "evals": evals}))
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    model = f"openai:echo@http://127.0.0.1:{httpd.server_address[1]}/v1"
    ui = subprocess.Popen([sys.executable, "-m", "skillfoundry", "ui", "--port", str(port)], env=env)
    try:
        wait_healthy(f"http://127.0.0.1:{port}/api/health")
        done = subprocess.run(
            [sys.executable, "-m", "skillfoundry", "eval", str(skill), "--student", model, "--epochs", "2",
             "--data-dir", str(root / "data"), "--run-id", "screenshot"],
            env=env, capture_output=True, text=True, timeout=600,
        )
        if done.returncode != 0:
            raise SystemExit(done.stderr[-2000:])
        probe = (
            "import asyncio, json\nfrom prefect.client.orchestration import get_client\n"
            "async def m():\n    async with get_client() as c:\n"
            "        runs = [r for r in await c.read_flow_runs() if r.name.startswith('eval ')]\n"
            "        arts = {a.key: str(a.id) for a in await c.read_artifacts() if a.key}\n"
            "        print(json.dumps({'run': str(runs[0].id), **arts}))\n"
            "asyncio.run(m())\n"
        )
        ids = json.loads(subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True,
                                        check=True, timeout=120).stdout.strip().splitlines()[-1])
        base = f"http://127.0.0.1:{port}"
        shoot(f"{base}/runs/flow-run/{ids['run']}", DOCS / "prefect-flow-run.png")
        shoot(f"{base}/artifacts/artifact/{ids['run-summary']}", DOCS / "prefect-run-summary.png")
        shoot(f"{base}/artifacts/artifact/{ids['skill-lift']}", DOCS / "prefect-skill-lift.png")
    finally:
        ui.terminate()
        ui.wait(timeout=60)
        httpd.shutdown()


if __name__ == "__main__":
    main()
