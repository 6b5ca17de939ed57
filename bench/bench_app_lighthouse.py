"""Benchmark: Lighthouse (mobile) on every page of the participant web app and the demo's
phones, next to the dashboard's sign-in page as a baseline, in the same run.

Run from the repository root (not part of the test suite; about 30 s a page):

    (cd bench/lighthouse && npm ci --ignore-scripts)   # once: Lighthouse 12.2.3, pinned
    .venv/bin/python -m bench.bench_app_lighthouse

Starts ``followup serve --demo`` (console SMS, a temporary SQLite database) on a free
port, signs in to ``/app`` as DEMO-001 with the code read on ``/demo/phone`` (as a
newcomer would), then runs Lighthouse's default mobile configuration (a mid-range
phone, slow 4G, 4x CPU slowdown) against Debian's chromium (``CHROME_PATH``, headless,
no network beyond the server) on each page, the signed-in ones with the session cookie.
Prints the performance, accessibility and best-practices scores and the bytes
transferred, next to the targets (90, 95, 95; 100 KB for a first load). Nothing is
downloaded at run time.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
LIGHTHOUSE = ROOT / "bench" / "lighthouse" / "node_modules" / ".bin" / "lighthouse"
CHROME = os.environ.get("CHROME_PATH", "/usr/bin/chromium")
TARGETS = {"performance": 90, "accessibility": 95, "best-practices": 95}
FIRST_LOAD_BUDGET = 100 * 1024
CHROME_FLAGS = (
    "--headless=new --no-sandbox --disable-gpu --disable-background-networking "
    "--disable-component-update"
)
# (label, path, signed in)
PAGES = [
    ("dashboard sign-in (baseline)", "/dashboard/login", False),
    ("app: sign-in", "/app", False),
    ("app: home (next visit)", "/app", True),
    ("app: report", "/app/report", True),
    ("app: what I have sent", "/app/history", True),
    ("app: preferences", "/app/preferences", True),
    ("demo phones", "/demo/phone", False),
]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    if not found:
        raise SystemExit("no CSRF field on the page")
    return found.group(1)


def _sign_in(base: str) -> str:
    """DEMO-001's session cookie, signed in through the pages like a person."""
    with httpx.Client(base_url=base, timeout=30) as client:
        phones = client.get("/demo/phone").text
        number = re.search(r'id="DEMO-001".*?class="number">([^<]+)<', phones, re.S)
        if not number:
            raise SystemExit("DEMO-001 is not on /demo/phone")
        form = client.get("/app").text
        asked = client.post("/app/code", data={"phone": number[1], "csrf_token": _csrf(form)})
        for _ in range(60):
            thread = client.get("/demo/phone").text.split('id="DEMO-001"')[1].split("</section>")[0]
            codes = re.findall(r'class="text">[^<]*?\b(\d{6})\b', thread)
            if codes:
                break
            time.sleep(0.5)
        else:
            raise SystemExit("no sign-in code on /demo/phone")
        client.post(
            "/app/verify",
            data={"phone": number[1], "code": codes[-1], "csrf_token": _csrf(asked.text)},
        )
        session = client.cookies.get("fu_app")
        if not session:
            raise SystemExit("sign-in to /app failed")
        return session


def _lighthouse(url: str, cookie: str | None, out: Path) -> dict[str, float]:
    command = [
        str(LIGHTHOUSE),
        url,
        "--quiet",
        "--output=json",
        f"--output-path={out}",
        "--only-categories=performance,accessibility,best-practices",
        f"--chrome-flags={CHROME_FLAGS}",
    ]
    if cookie:
        command.append("--extra-headers=" + json.dumps({"Cookie": f"fu_app={cookie}"}))
    env = {**os.environ, "CHROME_PATH": CHROME}
    subprocess.run(command, env=env, check=True, timeout=300)  # noqa: S603  # our own tool
    report = json.loads(out.read_text(encoding="utf-8"))
    scores = {k: round(100 * (v["score"] or 0)) for k, v in report["categories"].items()}
    scores["kb"] = round(report["audits"]["total-byte-weight"]["numericValue"] / 1024, 1)
    return scores


def main() -> None:
    if not LIGHTHOUSE.exists():
        raise SystemExit("run once: (cd bench/lighthouse && npm ci --ignore-scripts)")
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            **os.environ,
            "SMS_BACKEND": "console",
            "DATABASE_URL": f"sqlite://{tmp}/demo.sqlite3",
            "SECRET_KEY": "bench-" + "x" * 40,
            "PUBLIC_BASE_URL": base,
        }
        server = subprocess.Popen(  # noqa: S603  # our own command line
            [sys.executable, "-m", "service", "serve", "--demo", "--port", str(port)],
            env=env,
            cwd=tmp,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            for _ in range(240):
                try:
                    if httpx.get(f"{base}/health/live", timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                time.sleep(0.5)
            cookie = _sign_in(base)
            print(f"{'page':32} {'perf':>5} {'a11y':>5} {'best':>5} {'KB':>7}")
            print(f"{'target':32} {'>=90':>5} {'>=95':>5} {'>=95':>5} {'<=100':>7}")
            for label, path, signed_in in PAGES:
                row = _lighthouse(base + path, cookie if signed_in else None, Path(tmp) / "lh.json")
                met = all(row[k] >= v for k, v in TARGETS.items()) and row["kb"] * 1024 <= (
                    FIRST_LOAD_BUDGET
                )
                print(
                    f"{label:32} {row['performance']:>5} {row['accessibility']:>5} "
                    f"{row['best-practices']:>5} {row['kb']:>7} {'' if met else '  below target'}"
                )
        finally:
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    main()
