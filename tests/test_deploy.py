"""Deployment without a Docker engine: .env.example is complete, and the wheel installs and runs alone.

Regenerate .env.example after adding a setting: `python -m tests.test_deploy`.
"""

from __future__ import annotations

import os
import signal
import site
import socket
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from bot.config import Settings

REPO = Path(__file__).resolve().parents[1]
ENV_EXAMPLE = REPO / ".env.example"
COMPOSE = REPO / "docker-compose.yml"
HEADER = """\
# newsbrief settings: every one, with its default. Copy to .env and change what you need.
# Generated from bot/config.py by `python -m tests.test_deploy`; a test fails when it falls behind.
# Secrets (tokens, keys, signing secrets) are empty by default: set them here or in the environment.
"""


def _default(name: str) -> str:
    field = Settings.model_fields[name]
    value = field.get_default(call_default_factory=True)
    if isinstance(value, SecretStr):
        value = value.get_secret_value()
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return "" if value is None else str(value)


def render_env_example() -> str:
    """The text .env.example must have: each setting's description, then NAME=default."""
    blocks = [HEADER]
    for name, field in Settings.model_fields.items():
        # An empty value is not "unset" for an optional path, so those stay commented out.
        unset = "# " if field.get_default(call_default_factory=True) is None else ""
        blocks.append(f"# {field.description}\n{unset}{name.upper()}={_default(name)}\n")
    return "\n".join(blocks)


def test_env_example_documents_every_setting_with_its_default() -> None:
    assert ENV_EXAMPLE.read_text(encoding="utf-8") == render_env_example(), (
        ".env.example is out of date: run `python -m tests.test_deploy`"
    )


def test_env_example_gives_no_secret_a_value() -> None:
    lines = ENV_EXAMPLE.read_text(encoding="utf-8").splitlines()
    secret = [n.upper() for n, f in Settings.model_fields.items() if f.annotation is SecretStr]
    assert secret and all(f"{name}=" in lines for name in secret)


def test_compose_gates_newsbrief_on_a_healthy_postgres_with_a_named_volume() -> None:
    text = COMPOSE.read_text(encoding="utf-8")
    for needle in (
        "postgres:16",
        "condition: service_healthy",
        "pg_isready",
        "DATABASE_URL: postgresql+psycopg://",
    ):
        assert needle in text, needle
    assert "\nvolumes:\n" in text


# ---------------------------------------------------------------- the wheel


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    build = tmp_path_factory.mktemp("build")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", str(REPO), "-w", str(out)],
        check=True,
        cwd=build,
        capture_output=True,
    )
    (found,) = out.glob("newsbrief-*.whl")
    return found


def test_wheel_holds_prompts_seeds_and_migrations(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = [
        *(f"prompts/{p.name}" for p in (REPO / "prompts").glob("*.txt")),
        *(f"seeds/{p.name}" for p in (REPO / "seeds").glob("*.txt")),
        "seeds/threads.toml",
        "seeds/sources.toml",
        "storage/migrations/env.py",
        *(
            f"storage/migrations/versions/{p.name}"
            for p in (REPO / "storage/migrations/versions").glob("*.py")
        ),
    ]
    assert len(expected) > 10
    assert [name for name in expected if name not in names] == []


@pytest.fixture
def installed(wheel: Path, tmp_path: Path) -> Iterator[Path]:
    """A fresh venv holding only the wheel; dependencies come from this environment, nothing is downloaded."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True)
    python = venv / "bin" / "python"
    # --system-site-packages reaches the base interpreter, not this virtualenv: a .pth adds the latter's
    # packages after the new venv's own (its .pth files, among them the editable install, are not read).
    purelib = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    (Path(purelib) / "current-env.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    subprocess.run(
        [python, "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)],
        check=True,
        capture_output=True,
    )
    yield venv / "bin" / "newsbrief"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_healthy(port: int, process: subprocess.Popen[bytes], timeout: float = 30) -> httpx.Response:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()[0].decode()
        try:
            response = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
            if response.status_code == 200:
                return response
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError("newsbrief run from the wheel did not become healthy")


def test_newsbrief_run_from_the_installed_wheel_serves_health_and_stops_on_sigterm(
    installed: Path, tmp_path: Path
) -> None:
    port = _free_port()
    work = tmp_path / "elsewhere"
    work.mkdir()
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR")
    env = {k: v for k, v in os.environ.items() if k in keep}
    env.update(DATA_DIR=str(tmp_path / "data"), HTTP_PORT=str(port), EMBEDDER="none", INGEST_INTERVAL="3600")
    env["PYTHONSAFEPATH"] = "1"  # the source tree must not leak in through the working directory
    process = subprocess.Popen(
        [installed, "run"], cwd=work, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        assert _wait_healthy(port, process).json()["status"] == "ok"
        where = subprocess.run(
            [installed.parent / "python", "-c", "import bot; print(bot.__file__)"],
            cwd=work, env=env, capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        assert str(REPO) not in where and "site-packages" in where
        metrics = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5)
        assert metrics.status_code == 200 and "newsbrief_leader_info" in metrics.text
        process.send_signal(signal.SIGTERM)
        output = process.communicate(timeout=20)[0].decode()
        assert process.returncode == 0, output
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


if __name__ == "__main__":
    ENV_EXAMPLE.write_text(render_env_example(), encoding="utf-8")
    print(f"wrote {ENV_EXAMPLE}")
