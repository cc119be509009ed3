"""docker-compose.yml, the Dockerfiles and .env.example, checked without a Docker engine: every
service's command is a real `flowlens` sub-command with valid options, the start order is
db (healthy) -> migrate (completed) -> api/worker -> ui, workers reserve a GPU, volumes are
shared."""

from __future__ import annotations

import re
import shlex
import tomllib

import pytest
import yaml
from support import ROOT

from backend.cli import build_parser
from backend.config import Settings

COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]


def command_of(service: dict) -> list[str]:
    command = service["command"]
    return shlex.split(command) if isinstance(command, str) else list(command)


def test_services_are_all_there():
    assert set(SERVICES) == {"db", "migrate", "api", "ui", "worker"}


@pytest.mark.parametrize("name", ["migrate", "api", "ui", "worker"])
def test_commands_are_flowlens_subcommands(name):
    argv = command_of(SERVICES[name])
    assert argv[0] == "flowlens", argv
    args = build_parser().parse_args(argv[1:])  # exits (SystemExit) on a bad option
    assert args.command == name
    assert callable(args.fn)


def test_start_order_and_health():
    db = SERVICES["db"]
    assert db["image"].startswith("postgres:")
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])
    assert any(v.endswith(":/var/lib/postgresql/data") for v in db["volumes"])
    assert SERVICES["migrate"]["depends_on"]["db"]["condition"] == "service_healthy"
    assert SERVICES["migrate"]["restart"] == "no"
    for name in ("api", "worker"):
        condition = SERVICES[name]["depends_on"]["migrate"]["condition"]
        assert condition == "service_completed_successfully", name
    assert SERVICES["ui"]["depends_on"]["api"]["condition"] == "service_healthy"


def test_api_binds_all_interfaces_with_tokens_on():
    args = build_parser().parse_args(command_of(SERVICES["api"])[1:])
    assert args.host == "0.0.0.0"
    env = SERVICES["api"]["environment"]
    assert env["FLOWLENS_AUTH"].startswith("${FLOWLENS_AUTH:-on")
    assert Settings(host=args.host, auth="auto").auth_enabled  # on even without the variable
    assert env["FLOWLENS_DATABASE_URL"].startswith("postgresql://")
    ui_args = build_parser().parse_args(command_of(SERVICES["ui"])[1:])
    assert ui_args.api_url == "http://api:8000"


def test_workers_reserve_a_gpu_and_share_the_artifacts():
    worker = SERVICES["worker"]
    devices = worker["deploy"]["resources"]["reservations"]["devices"]
    assert devices == [{"driver": "nvidia", "count": 1, "capabilities": ["gpu"]}]
    assert "container_name" not in worker  # `docker compose up --scale worker=N` needs that
    assert not worker.get("ports")
    args = build_parser().parse_args(command_of(worker)[1:])
    assert args.device == "cuda"
    artifact_root = worker["environment"]["FLOWLENS_ARTIFACT_ROOT"]
    for name in ("api", "worker"):
        assert f"artifacts:{artifact_root}" in SERVICES[name]["volumes"], name
        assert SERVICES[name]["environment"]["FLOWLENS_ARTIFACT_ROOT"] == artifact_root
    assert {"pgdata", "artifacts"} <= set(COMPOSE["volumes"])
    assert worker["build"]["dockerfile"] == "Dockerfile.worker"


def test_dockerfiles():
    light = (ROOT / "Dockerfile").read_text()
    worker = (ROOT / "Dockerfile.worker").read_text()
    install_lines = [line for line in light.splitlines() if "pip install" in line or "    " in line]
    assert not any(re.search(r"\btorch\b|transformer", line) for line in install_lines)
    assert "USER flowlens" in light and "USER flowlens" in worker
    assert "download.pytorch.org/whl/cu" in worker
    for name in ("migrate", "api", "ui"):
        assert SERVICES[name]["build"]["dockerfile"] == "Dockerfile", name
    # the light image's CMD is a valid flowlens command too
    cmd = re.search(r"^CMD (\[.*\])$", light, re.M).group(1)
    assert build_parser().parse_args(yaml.safe_load(cmd)[1:]).command == "api"
    cmd = re.search(r"^CMD (\[.*\])$", worker, re.M).group(1)
    assert build_parser().parse_args(yaml.safe_load(cmd)[1:]).command == "worker"


def _requirement_name(requirement: str) -> str:
    return re.match(r"[A-Za-z0-9_.\-]+", requirement).group(0).lower()


def test_dockerfiles_install_the_extras_instead_of_listing_dependencies():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    light = (ROOT / "Dockerfile").read_text()
    worker = (ROOT / "Dockerfile.worker").read_text()
    assert "pip install -c constraints.txt -e . " in light  # the base only, no extras
    assert '-e ".[worker]"' in worker
    assert {"torch", "transformer-lens", "datasets"} <= {
        _requirement_name(r) for r in extras["worker"]
    }
    assert not {_requirement_name(r) for r in project["dependencies"]} & {"torch", "scipy"}
    listed = {_requirement_name(r) for r in project["dependencies"] + extras["worker"]}
    for text in (light, worker):
        for command in re.findall(r"pip install[^\n]*", text.replace("\\\n", " ")):
            words = {w.strip("\"'").split("==")[0].lower() for w in command.split()}
            assert not (words & listed) - {"torch"}, command  # only the CUDA torch, by version


def test_env_example_lists_every_setting_with_a_comment():
    lines = (ROOT / ".env.example").read_text().splitlines()
    names = {line.split("=", 1)[0] for line in lines if re.match(r"^[A-Z_]+=", line)}
    for field in Settings.model_fields:
        variable = f"FLOWLENS_{field.upper()}"
        assert variable in names, f"{variable} missing from .env.example"
        index = next(i for i, line in enumerate(lines) if line.startswith(f"{variable}="))
        assert any(lines[j].startswith("#") for j in range(max(0, index - 2), index)), variable
    # every variable the compose file interpolates is documented too
    used = set(re.findall(r"\$\{(\w+)", (ROOT / "docker-compose.yml").read_text()))
    assert used <= names, used - names
