"""``nimbus user|project|role|credentials`` as an operator runs them: subprocesses."""

from __future__ import annotations

import asyncio
import os
import subprocess
from pathlib import Path

from runtime.api_client import parse_rc_file
from tests.support.stack import RunningStack, auth_body

NIMBUS = str(Path(__file__).resolve().parents[2] / ".venv" / "bin" / "nimbus")


def env_for(database_url: str, state: Path, **more: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NIMBUS_", "OS_"))}
    env.update(NIMBUS_STATE_DIR=str(state), NIMBUS_DATABASE_URL=database_url, **more)
    return env


def nimbus(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([NIMBUS, *args], env=env, capture_output=True, text=True,
                          timeout=60, check=False)


def test_operators_manage_users_projects_and_roles(database_url: str, tmp_path: Path) -> None:
    env = env_for(database_url, tmp_path)
    assert nimbus(env, "project", "create", "web", "--description", "the web tier"
                  ).returncode == 0
    made = nimbus(env, "user", "create", "alice", "--password", "pw", "--project", "web")
    assert made.returncode == 0, made.stderr
    assert nimbus(env, "role", "add", "alice", "web", "netadmin").returncode == 0

    users = nimbus(env, "user", "list").stdout
    assert "alice" in users and "web" in users
    assert "the web tier" in nimbus(env, "project", "list").stdout
    roles = nimbus(env, "role", "list", "--user", "alice").stdout.splitlines()
    assert [line.split() for line in roles[2:]] == [["alice", "web", "member"],
                                                    ["alice", "web", "netadmin"]]

    assert nimbus(env, "role", "remove", "alice", "web", "netadmin").returncode == 0
    assert "netadmin" not in nimbus(env, "role", "list", "--project", "web").stdout
    assert nimbus(env, "user", "delete", "alice").returncode == 0
    assert "alice" not in nimbus(env, "user", "list").stdout


def test_mistakes_get_one_line_errors(database_url: str, tmp_path: Path) -> None:
    env = env_for(database_url, tmp_path)
    nimbus(env, "project", "create", "web")
    for args, message in (
        (("project", "create", "web"), "Duplicate entry found with name web"),
        (("role", "add", "nobody", "web", "member"), "Could not find user: nobody."),
        (("user", "create", "bob", "--password", "pw", "--project", "nowhere"),
         "Could not find project: nowhere."),
        (("role", "add", "admin", "web", "wizard"), "Could not find role: wizard."),
    ):
        ran = nimbus(env, *args)
        assert ran.returncode == 1, args
        assert ran.stderr.startswith("nimbus: error: ") and message in ran.stderr, ran.stderr
        assert len(ran.stderr.strip().splitlines()) == 1, ran.stderr


async def test_credentials_let_a_new_user_log_in_to_the_running_cloud(
        running_stack: RunningStack, tmp_path: Path) -> None:
    env = env_for(running_stack.database_url, tmp_path,
                  NIMBUS_API_PORT=str(running_stack.settings.api_port))

    async def run(*args: str) -> tuple[int, str, str]:
        process = await asyncio.create_subprocess_exec(
            NIMBUS, *args, env=env, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE)
        out, err = await asyncio.wait_for(process.communicate(), 60)
        assert process.returncode is not None
        return process.returncode, out.decode(), err.decode()

    assert (await run("project", "create", "web"))[0] == 0
    assert (await run("user", "create", "carol", "--password", "c-pw", "--project", "web",
                      "--role", "member"))[0] == 0
    code, _, err = await run("credentials", "carol", "web", "--password", "wrong",
                             "--dir", str(tmp_path / "out"))
    assert code == 1 and "requires authentication" in err
    code, out, err = await run("credentials", "carol", "web", "--password", "c-pw",
                               "--dir", str(tmp_path / "out"))
    assert code == 0, err
    rc = parse_rc_file(out.split()[0])
    assert "c-pw" in (tmp_path / "out" / "clouds.yaml").read_text()
    r = await running_stack.http.post(
        rc["OS_AUTH_URL"].removeprefix(running_stack.settings.base_url) + "/auth/tokens",
        json=auth_body(rc["OS_USERNAME"], rc["OS_PASSWORD"], rc["OS_PROJECT_NAME"]))
    assert r.status_code == 201, r.text
    assert [role["name"] for role in r.json()["token"]["roles"]] == ["member", "reader"]
