"""The server groups view (os-server-groups) from the server_group events,
in log order inside the projector's transaction; only event data is
written, so a replay rebuilds the same rows."""

from __future__ import annotations

from typing import Any

import psycopg

from domain import server_group as model
from projections.log import LogEntry
from projections.statements import Statements


def apply(conn: psycopg.Connection[Any],
          items: list[tuple[LogEntry, model.ServerGroupEvent]]) -> None:
    out = Statements()
    for _, e in items:
        if isinstance(e, model.ServerGroupCreated):
            out.add("INSERT INTO server_groups (id, name, policy, project_id, user_id,"
                    " created_at) VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (id) DO UPDATE"
                    " SET name = EXCLUDED.name, policy = EXCLUDED.policy",
                    (e.group_id, e.name, e.policy, e.project_id, e.user_id, e.at))
        elif isinstance(e, model.ServerGroupDeleted):
            out.add("DELETE FROM server_groups WHERE id = %s", (e.group_id,))
            out.add("DELETE FROM server_group_members WHERE group_id = %s", (e.group_id,))
        elif isinstance(e, model.ServerGroupMemberAdded):
            out.add("INSERT INTO server_group_members (group_id, instance_id, joined_at)"
                    " VALUES (%s, %s, %s) ON CONFLICT DO NOTHING",
                    (e.group_id, e.instance_id, e.at))
    out.send(conn)
