"""``nimbus user|project|role|credentials``: the seed's nova-manage identity commands.

Like nova-manage, these work directly against the database (the event
store), so they also work while the API is down: they run the same identity
commands the Keystone admin API runs. Listings read the identity views after
bringing them up to date with the log (the projector's own exactly-once
step), so they show what was just written. Every failure is one line.
"""

from __future__ import annotations

import argparse
import contextlib
import secrets
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg

from commands.application import NimbusApplication
from commands.identity import IdentityCommands
from domain.errors import DomainError
from migrations.runner import VIEWS_SCHEMA, upgrade
from projections import projector
from runtime import credentials
from runtime.settings import Settings, load
from runtime.stack import session_bounds
from runtime.tables import format_table

Action = Callable[[IdentityCommands, str, argparse.Namespace], int]


def _request_id() -> str:
    return f"req-cli-{secrets.token_hex(8)}"


@contextlib.contextmanager
def identity_on_store(settings: Settings) -> Iterator[tuple[IdentityCommands, str]]:
    from runtime.cli import backing_servers  # the CLI's own module imports this one

    with backing_servers(settings, nats=False) as (database_url, _):
        upgrade(database_url)
        app = NimbusApplication(database_url, bounds=session_bounds(settings))
        try:
            yield IdentityCommands(app), database_url
        finally:
            app.close()


def views_rows(database_url: str, query: str,
               params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Rows of ``query`` ({V} names the views) once the views are up to date."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        while projector.catch_up(conn) == projector.BATCH:
            pass
        return list(conn.execute(query.replace("{V}", VIEWS_SCHEMA), params).fetchall())


def _run(action: Action) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        try:
            with identity_on_store(load()) as (identity, database_url):
                return action(identity, database_url, args)
        except DomainError as exc:
            print(f"nimbus: error: {exc.message}", file=sys.stderr)
            return 1
    return run


def user_create(identity: IdentityCommands, url: str, args: argparse.Namespace) -> int:
    if args.role and not args.project:
        raise SystemExit("nimbus: error: --role needs --project")
    user = identity.create_user(request_id=_request_id(), name=args.name,
                                password=args.password, default_project=args.project).state
    if args.project:
        identity.grant(request_id=_request_id(), user_ref=user.id, project_ref=args.project,
                       role=args.role or "member")
    print(user.id)
    return 0


def user_list(identity: IdentityCommands, url: str, args: argparse.Namespace) -> int:
    rows = views_rows(url, "SELECT u.id, u.name, coalesce(p.name, '') FROM {V}.users u"
                       " LEFT JOIN {V}.projects p ON p.id = u.default_project_id ORDER BY u.name")
    print(format_table(["ID", "Name", "Default project"], rows))
    return 0


def user_delete(identity: IdentityCommands, url: str, args: argparse.Namespace) -> int:
    identity.delete_user(request_id=_request_id(), ref=args.name)
    return 0


def user_password(identity: IdentityCommands, url: str, args: argparse.Namespace) -> int:
    identity.change_password(request_id=_request_id(), ref=args.name, password=args.password)
    return 0


def project_create(identity: IdentityCommands, url: str, args: argparse.Namespace) -> int:
    project = identity.create_project(request_id=_request_id(), name=args.name,
                                      description=args.description).state
    print(project.id)
    return 0


def project_list(identity: IdentityCommands, url: str, args: argparse.Namespace) -> int:
    rows = views_rows(url, "SELECT id, name, description FROM {V}.projects ORDER BY name")
    print(format_table(["ID", "Name", "Description"], rows))
    return 0


def project_delete(identity: IdentityCommands, url: str, args: argparse.Namespace) -> int:
    identity.delete_project(request_id=_request_id(), ref=args.name)
    return 0


def role_add(identity: IdentityCommands, url: str, args: argparse.Namespace) -> int:
    identity.grant(request_id=_request_id(), user_ref=args.user, project_ref=args.project,
                   role=args.role)
    return 0


def role_remove(identity: IdentityCommands, url: str, args: argparse.Namespace) -> int:
    identity.revoke_role(request_id=_request_id(), user_ref=args.user,
                         project_ref=args.project, role=args.role)
    return 0


def role_list(identity: IdentityCommands, url: str, args: argparse.Namespace) -> int:
    user_id = identity.user(args.user).id if args.user else None
    project_id = identity.project(args.project).id if args.project else None
    rows = views_rows(url, "SELECT u.name, p.name, a.role FROM {V}.role_assignments a"
                       " JOIN {V}.users u ON u.id = a.user_id"
                       " JOIN {V}.projects p ON p.id = a.project_id"
                       " WHERE (%s::text IS NULL OR a.user_id = %s)"
                       " AND (%s::text IS NULL OR a.project_id = %s)"
                       " ORDER BY u.name, p.name, a.role",
                  (user_id, user_id, project_id, project_id))
    print(format_table(["User", "Project", "Role"], rows))
    return 0


def write_credentials(identity: IdentityCommands, url: str, args: argparse.Namespace) -> int:
    """The seed's ``project environment``: files that log USER in to PROJECT."""
    identity.user(args.user)
    project = identity.project(args.project)
    if args.password is not None:
        identity.authenticate(user_ref=args.user, password=args.password,
                              project_ref=project.id)
    settings = load()
    directory = Path(args.dir) if args.dir else Path.cwd()
    rc, clouds = credentials.write_user_files(settings, args.user, project.name, args.password,
                                              directory)
    print(rc)
    print(clouds)
    return 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``user``, ``project``, ``role`` and ``credentials`` to ``nimbus``."""
    user = subparsers.add_parser("user", help="cloud users (nova-manage user)")
    users = user.add_subparsers(dest="user_command", metavar="COMMAND", required=True)
    p = users.add_parser("create", help="create a user")
    p.add_argument("name")
    p.add_argument("--password", required=True)
    p.add_argument("--project", help="default project, where --role is granted")
    p.add_argument("--role", help="role on --project (default: member)")
    p.set_defaults(func=_run(user_create))
    users.add_parser("list", help="list users").set_defaults(func=_run(user_list))
    p = users.add_parser("delete", help="delete a user (their tokens stop working)")
    p.add_argument("name")
    p.set_defaults(func=_run(user_delete))
    p = users.add_parser("password", help="set a user's password")
    p.add_argument("name")
    p.add_argument("--password", required=True)
    p.set_defaults(func=_run(user_password))

    project = subparsers.add_parser("project", help="projects (nova-manage project)")
    projects = project.add_subparsers(dest="project_command", metavar="COMMAND", required=True)
    p = projects.add_parser("create", help="create a project")
    p.add_argument("name")
    p.add_argument("--description", default="")
    p.set_defaults(func=_run(project_create))
    projects.add_parser("list", help="list projects").set_defaults(func=_run(project_list))
    p = projects.add_parser("delete", help="delete a project")
    p.add_argument("name")
    p.set_defaults(func=_run(project_delete))

    role = subparsers.add_parser("role", help="roles of users on projects (nova-manage role)")
    roles = role.add_subparsers(dest="role_command", metavar="COMMAND", required=True)
    for name, action, text in (("add", role_add, "grant USER ROLE on PROJECT"),
                               ("remove", role_remove, "revoke USER's ROLE on PROJECT")):
        p = roles.add_parser(name, help=text)
        p.add_argument("user")
        p.add_argument("project")
        p.add_argument("role", help="admin (cloudadmin), member, itsec, sysadmin, netadmin, "
                                    "projectmanager")
        p.set_defaults(func=_run(action))
    p = roles.add_parser("list", help="list role assignments")
    p.add_argument("--user")
    p.add_argument("--project")
    p.set_defaults(func=_run(role_list))

    p = subparsers.add_parser("credentials",
                              help="write clouds.yaml and an rc file for USER in PROJECT")
    p.add_argument("user")
    p.add_argument("project")
    p.add_argument("--password", help="checked, then written into the files")
    p.add_argument("--dir", help="where to write (default: the current directory)")
    p.set_defaults(func=_run(write_credentials))
