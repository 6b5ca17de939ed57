"""The deployment files say what the image and the operators' docs promise.

`.ci/image` builds and runs the image itself; these checks are the fast part that
runs with every test run: compose.yaml parses and starts the parts in the right
order with documented variables, and the image installs only hashed, locked wheels
from a build context that leaves tests and benchmarks out.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
SERVICE_PARTS = ("migrate", "serve", "worker")
IMAGE_ONLY_VARIABLES = {"PORT"}  # the image's own: docs/deploy.md


def _compose() -> dict[str, Any]:
    loaded = yaml.safe_load((REPO / "compose.yaml").read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def _documented_variables() -> set[str]:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    table = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"`([A-Z][A-Z0-9_]+)`", table))


def test_compose_starts_postgres_then_migrations_then_serve_and_worker() -> None:
    services = _compose()["services"]
    assert set(services) == {"postgres", *SERVICE_PARTS}
    assert services["migrate"]["command"] == ["followup", "migrate"]
    assert services["migrate"]["restart"] == "no"
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert "command" not in services["serve"], "serve runs the image's own CMD"
    assert services["worker"]["command"] == ["followup", "worker"]
    for part in ("serve", "worker"):
        waits_for = services[part]["depends_on"]["migrate"]["condition"]
        assert waits_for == "service_completed_successfully", part
    for part in SERVICE_PARTS:
        assert services[part]["build"] == "." and services[part]["image"], part
    assert services["worker"]["healthcheck"] == {"disable": True}, "a worker serves no HTTP"


def test_compose_uses_only_documented_variables_and_one_database() -> None:
    services = _compose()["services"]
    documented = _documented_variables() | IMAGE_ONLY_VARIABLES
    for part in SERVICE_PARTS:
        environment = services[part]["environment"]
        assert set(environment) <= documented, set(environment) - documented
        assert "SECRET_KEY" in environment and "DATABASE_URL" in environment
    database = services["postgres"]["environment"]["POSTGRES_DB"]
    url = services["serve"]["environment"]["DATABASE_URL"]
    assert url.startswith("postgres://") and url.endswith(f"@postgres:5432/{database}")


def test_the_image_installs_only_hashed_locked_wheels() -> None:
    dockerfile = (REPO / "Dockerfile").read_text(encoding="utf-8")
    install = next(
        line
        for line in dockerfile.replace("\\\n", " ").splitlines()
        if "-r requirements.lock" in line
    )
    for flag in (
        "--require-hashes",
        "--only-binary=:all:",
        "--no-deps",
        "-r requirements-build.lock",
    ):
        assert flag in install, flag
    for lock in ("requirements.lock", "requirements-build.lock"):
        text = (REPO / lock).read_text(encoding="utf-8")
        pins = re.findall(
            r"^([A-Za-z0-9_.\-\[\]]+)==\S+((?:\s*\\\n\s+--hash=sha256:[0-9a-f]{64})+)", text, re.M
        )
        requirements = re.findall(r"^[A-Za-z0-9]", text, re.M)
        assert pins and len(pins) == len(requirements), (
            f"{lock}: every requirement pinned with a hash"
        )


def test_the_build_context_leaves_out_tests_and_benchmarks() -> None:
    rules = [
        line.strip()
        for line in (REPO / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert rules[0] == "*", "an allow-list: everything is left out unless named"
    allowed = {rule[1:].rstrip("/") for rule in rules if rule.startswith("!")}
    assert allowed.isdisjoint({"tests", "bench", "docs", ".venv", "data"}), allowed
    dockerfile = (REPO / "Dockerfile").read_text(encoding="utf-8")
    copied = set(re.findall(r"^COPY (?!--from)(.+?) \S+$", dockerfile, re.M))
    assert {name for line in copied for name in line.split()} <= allowed
