"""The Dockerfile and compose.yaml, as far as they can be checked without Docker: the image
runs a console script this package installs, as a non-root user, with a health check on a
path the app serves; compose runs two replicas on one Redis behind one published port, and
every setting it passes is one the gateway reads."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel

from gateway.app import create_app
from gateway.cli import build_parser
from gateway.config import CacheSettings, Settings

ROOT = Path(__file__).resolve().parent.parent


def dockerfile() -> dict[str, list[str]]:
    """Each instruction's arguments, continuation lines joined."""
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8").replace("\\\n", " ")
    found: dict[str, list[str]] = {}
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            word, _, rest = line.strip().partition(" ")
            found.setdefault(word.upper(), []).append(rest.strip())
    return found


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf-8"))
    return loaded


def is_setting(variable: str) -> bool:
    """GATEWAY_<A>__<B>... names a field of `Settings` (nested by `__`)."""
    model: type[BaseModel] = Settings
    parts = variable.removeprefix("GATEWAY_").lower().split("__")
    for depth, part in enumerate(parts):
        field = model.model_fields.get(part)
        if field is None:
            return False
        annotation = field.annotation
        if depth < len(parts) - 1:
            if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
                return False
            model = annotation
    return True


def test_the_image_runs_the_installed_console_script_as_non_root() -> None:
    instructions = dockerfile()
    assert re.fullmatch(r"python:3\.1[1-9]-slim", instructions["FROM"][0])
    (user,) = instructions["USER"]
    assert user not in ("root", "0")
    assert "useradd" in " ".join(instructions["RUN"])
    assert user in " ".join(instructions["RUN"])
    command = json.loads(instructions["CMD"][0])
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts[command[0]] == "gateway.cli:main"
    args = build_parser().parse_args(command[1:])
    assert (args.command, args.host, args.port) == ("serve", "0.0.0.0", 8000)
    assert instructions["EXPOSE"] == [str(args.port)]


def test_the_image_health_check_asks_a_path_the_app_serves() -> None:
    (check,) = dockerfile()["HEALTHCHECK"]
    url = re.search(r"http://127\.0\.0\.1:(\d+)(/\w+)", check)
    assert url is not None
    assert int(url[1]) == 8000
    paths = {getattr(route, "path", None) for route in create_app(Settings()).routes}
    assert url[2] == "/healthz"
    assert url[2] in paths


def test_the_image_leaves_out_what_it_does_not_need() -> None:
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".git", ".venv", ".env", "tests"} <= set(ignored)


def test_compose_runs_two_replicas_on_one_redis_behind_one_port() -> None:
    services = compose()["services"]
    assert set(services) == {"redis", "gateway", "proxy"}
    gateway, proxy = services["gateway"], services["proxy"]
    assert gateway["build"] == "."
    assert gateway["deploy"]["replicas"] == 2
    assert "ports" not in gateway
    assert "ports" not in services["redis"]
    assert proxy["ports"] == ["8000:8000"]
    assert gateway["depends_on"]["redis"]["condition"] == "service_healthy"
    assert proxy["depends_on"]["gateway"]["condition"] == "service_healthy"
    nginx = compose()["configs"][proxy["configs"][0]["source"]]["content"]
    assert "server gateway:8000;" in nginx  # the port the image's command listens on
    assert "listen 8000;" in nginx
    assert "proxy_pass http://gateway;" in nginx
    assert "$$proxy_add_x_forwarded_for" in nginx  # `$$`: compose leaves nginx its `$`


def test_every_gateway_variable_compose_passes_is_a_setting() -> None:
    environment = compose()["services"]["gateway"]["environment"]
    names = [entry.partition("=")[0] for entry in environment]
    gateway_names = [n for n in names if n.startswith("GATEWAY_")]
    assert gateway_names
    assert [n for n in gateway_names if not is_setting(n)] == []
    values = dict(entry.partition("=")[::2] for entry in environment if "=" in entry)
    url = values["GATEWAY_CACHE__URL"]
    assert url.startswith("redis://redis:")  # the compose service
    CacheSettings(url=url)  # valid
    assert "FORWARDED_ALLOW_IPS" in values  # client IPs from the proxy's X-Forwarded-For


@pytest.mark.parametrize("name", ["GATEWAY_AUTH__API_KEY", "GATEWAY_CACHE__URI", "GATEWAY_X"])
def test_a_misspelt_variable_is_caught(name: str) -> None:
    assert not is_setting(name)
