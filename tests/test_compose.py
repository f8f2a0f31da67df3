"""docker-compose.yml runs what the README says: one web process, scalable workers, the servers."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psycopg
import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from bot.cli import main
from bot.delivery.queue import postgres_conninfo
from storage.db import Database
from storage.errors import DatabaseUnavailable
from tests.pgserver import password_postgres

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
LOCK = ROOT / "requirements.lock"
README = ROOT / "README.md"
HARD_PASSWORD = "p@ss:w/rd#1?%x"


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
    web, worker = container_env(services["bot"], {}), container_env(services["worker"], {})
    for name in ("DATABASE_URL", "PGPASSWORD", "REDIS_URL"):
        assert web[name] == worker[name]
    assert web["DATABASE_URL"].startswith("postgresql+asyncpg://")
    assert "@postgres:5432/" in web["DATABASE_URL"]
    assert web["REDIS_URL"].startswith("redis://redis:6379")


def test_workers_send_and_can_be_scaled(services: dict[str, Any]) -> None:
    # `--scale worker=3` needs a worker without a fixed name or published port.
    worker = services["worker"]
    assert "container_name" not in worker and "ports" not in worker
    assert container_env(services["bot"], {})["CXBOT_EMBEDDED_WORKER"] == "false"
    assert worker["depends_on"]["bot"]["condition"] == "service_healthy"


def test_the_worker_command_exists(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as ended:
        main(["worker", "--help"])
    assert ended.value.code == 0
    assert "--concurrency" in capsys.readouterr().out


# What `docker compose` does with the file, for what these tests need: ${VAR} and ${VAR:-default}
# from .env (compose reads it for interpolation too), then `environment:` over `env_file:`.
# No Docker engine runs here, so the images are not built nor the containers started.
INTERPOLATION = re.compile(r"\$\{(\w+)(?::-([^}]*))?\}")


def interpolate(value: str, dotenv: dict[str, str]) -> str:
    return INTERPOLATION.sub(lambda m: dotenv.get(m[1]) or (m[2] or ""), value)


def container_env(service: dict[str, Any], dotenv: dict[str, str]) -> dict[str, str]:
    env = dict(dotenv)  # env_file: .env
    env.update({k: interpolate(str(v), dotenv) for k, v in service["environment"].items()})
    return env


def test_dotenv_replaces_the_defaults_as_the_readme_says(services: dict[str, Any]) -> None:
    for name in ("bot", "worker"):
        default = container_env(services[name], {})
        assert default["DATABASE_URL"] == "postgresql+asyncpg://cxbot@postgres:5432/cxbot"
        assert default["REDIS_URL"] == "redis://redis:6379/0"
        assert "CXBOT_RULES" not in default  # no rules file needed to start
        mine = {
            "DATABASE_URL": "postgresql+asyncpg://me@db.example:5432/cx",
            "REDIS_URL": "redis://cache.example:6379/2",
        }
        assert container_env(services[name], mine) | mine == container_env(services[name], mine)
    assert container_env(services["bot"], {})["CXBOT_EMBEDDED_WORKER"] == "false"
    assert (
        container_env(services["bot"], {"CXBOT_EMBEDDED_WORKER": "true"})["CXBOT_EMBEDDED_WORKER"]
        == "true"
    )
    readme = README.read_text()
    for name in ("DATABASE_URL", "REDIS_URL", "CXBOT_EMBEDDED_WORKER", "CXBOT_HTTP_PORT"):
        assert f"`{name}`" in readme.split("## Production: docker compose")[1]


def test_the_worker_has_a_health_check_on_its_own_port(services: dict[str, Any]) -> None:
    worker = services["worker"]
    port = container_env(worker, {})["CXBOT_WORKER_HTTP_PORT"]
    assert f"http://127.0.0.1:{port}/healthz" in " ".join(worker["healthcheck"]["test"])
    assert "disable" not in worker["healthcheck"]


def test_the_container_runs_as_the_owner_of_rules(services: dict[str, Any]) -> None:
    for name in ("bot", "worker"):
        assert interpolate(services[name]["user"], {}) == "1000:1000"  # the image's cxbot
        assert interpolate(services[name]["user"], {"CXBOT_UID": "501", "CXBOT_GID": "20"}) == (
            "501:20"
        )
    dockerfile = DOCKERFILE.read_text()
    assert "useradd --uid 1000" in dockerfile and "chown cxbot:cxbot /rules" in dockerfile


def test_the_readme_recipe_makes_a_rules_file_that_passes_the_check(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    section = README.read_text().split("## Production: docker compose")[1]
    start, with_rules = (block.split("```")[0] for block in section.split("```sh\n")[1:3])
    assert "mkdir -p rules" in start and "CXBOT_UID=$(id -u)" in start
    assert "CXBOT_RULES=/rules/rules.yaml" in with_rules
    rules = with_rules.split("cat > rules/rules.yaml <<'YAML'\n")[1].split("\nYAML\n")[0]
    (tmp_path / "rules.yaml").write_text(rules + "\n")
    assert main(["rules", "check", str(tmp_path / "rules.yaml")]) == 0
    assert "rules" in capsys.readouterr().out


def locked() -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in LOCK.read_text().splitlines():
        if "==" in line and not line.startswith((" ", "#")):
            name, _, version = line.split(" ")[0].partition("==")
            pins[canonicalize_name(name)] = version
    return pins


def test_the_image_is_built_from_the_lock_file() -> None:
    dockerfile = DOCKERFILE.read_text()
    assert "pip install --require-hashes --no-deps -r requirements.lock" in dockerfile
    assert "pip install --no-deps ." in dockerfile  # cxbot adds nothing unlocked
    pins = locked()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    for line in project["dependencies"]:
        wanted = Requirement(line)
        name = canonicalize_name(wanted.name)
        assert name in pins, f"{name} is not in requirements.lock: regenerate it (README)"
        assert wanted.specifier.contains(pins[name]), f"{name}=={pins[name]} vs {wanted}"


@pytest.fixture(scope="module")
def password_server() -> Iterator[int]:
    with password_postgres("cxbot", HARD_PASSWORD) as port:
        yield port


async def test_a_password_with_url_characters_works(
    services: dict[str, Any], password_server: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = container_env(services["worker"], {"POSTGRES_PASSWORD": HARD_PASSWORD})
    assert HARD_PASSWORD not in env["DATABASE_URL"]  # it travels in PGPASSWORD
    url = env["DATABASE_URL"].replace(
        "postgres:5432/cxbot", f"127.0.0.1:{password_server}/postgres"
    )
    monkeypatch.setenv("PGPASSWORD", env["PGPASSWORD"])
    await reaches_both_drivers(url)
    monkeypatch.setenv("PGPASSWORD", "wrong")
    with pytest.raises(DatabaseUnavailable):  # the server does check it
        await Database(url).ping()
    # Your own DATABASE_URL in .env: the password URL-encoded, as the README says.
    encoded = url.replace("cxbot@", f"cxbot:{quote(HARD_PASSWORD, safe='')}@")
    monkeypatch.delenv("PGPASSWORD")
    await reaches_both_drivers(encoded)


async def reaches_both_drivers(url: str) -> None:
    database = Database(url)  # asyncpg, for cxbot's tables
    try:
        await database.ping()
    finally:
        await database.dispose()
    # psycopg (libpq), for the job queue
    async with await psycopg.AsyncConnection.connect(postgres_conninfo(url)) as conn:
        assert await (await conn.execute("SELECT 1")).fetchone() == (1,)
