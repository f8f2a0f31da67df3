"""docker-compose.yml runs what the README says: one web process, scalable workers, the servers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.cli import main

COMPOSE = Path(__file__).resolve().parent.parent / "docker-compose.yml"


@pytest.fixture(scope="module")
def services() -> dict[str, Any]:
    loaded = yaml.safe_load(COMPOSE.read_text())  # safe_load resolves the `<<` merge keys
    found: dict[str, Any] = loaded["services"]
    return found


def test_web_worker_and_servers(services: dict[str, Any]) -> None:
    assert set(services) == {"bot", "worker", "redis", "postgres"}
    assert services["bot"]["command"] == ["cxbot", "run"]
    assert services["worker"]["command"] == ["cxbot", "worker"]


def test_web_and_worker_share_one_redis_and_one_postgres(services: dict[str, Any]) -> None:
    web, worker = services["bot"]["environment"], services["worker"]["environment"]
    for name in ("DATABASE_URL", "REDIS_URL"):
        assert web[name] == worker[name]
    assert web["DATABASE_URL"].startswith("postgresql+asyncpg://")
    assert "@postgres:5432/" in web["DATABASE_URL"]
    assert web["REDIS_URL"].startswith("redis://redis:6379")


def test_workers_send_and_can_be_scaled(services: dict[str, Any]) -> None:
    # `--scale worker=3` needs a worker without a fixed name or published port.
    worker = services["worker"]
    assert "container_name" not in worker and "ports" not in worker
    assert services["bot"]["environment"]["CXBOT_EMBEDDED_WORKER"] == "false"
    assert worker["depends_on"]["bot"]["condition"] == "service_healthy"


def test_the_worker_command_exists(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as ended:
        main(["worker", "--help"])
    assert ended.value.code == 0
    assert "--concurrency" in capsys.readouterr().out
