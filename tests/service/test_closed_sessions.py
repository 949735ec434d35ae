"""A part that was closed never opens a database session again: a caller that
comes late (a report answered during shutdown, an upload checked after the
service stopped) is told the service is stopping, and leaves no connection open."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from commands.event_store import StoreUnavailable
from commands.host_reports import HostReports
from commands.services import Commands
from commands.upload_lease import UploadLease
from domain.host import HostReport


def test_a_closed_upload_lease_refuses_to_open_a_new_session(database_url: str) -> None:
    lease = UploadLease(database_url)
    lease.hold()
    lease.close()
    with pytest.raises(StoreUnavailable, match="stopping"):
        lease.hold()
    with pytest.raises(StoreUnavailable, match="stopping"):
        lease.alive(str(uuid.uuid4()))


def test_closed_host_reports_refuse_a_late_report(database_url: str) -> None:
    cloud = Commands.open(database_url, [])
    reports = HostReports(cloud.hosts, database_url)
    reports.close()
    try:
        with pytest.raises(StoreUnavailable, match="stopping"):
            reports.record(HostReport(host="late", vcpus=1, memory_mb=512, local_gb=1,
                                      hypervisor_type="QEMU", hypervisor_version=8002000,
                                      host_ip="127.0.0.1", at=datetime(2026, 1, 1, tzinfo=UTC)))
        assert "late" not in cloud.hosts.registered()
    finally:
        cloud.close()
