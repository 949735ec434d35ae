"""Wires the parts of nimbus together and runs them in one process.

The API (uvicorn), the relay, the projector, the outcome ingester and one
hypervisor worker per configured host run as tasks of one event loop (the
projector, being synchronous, in a thread). The first part to fail stops the
others, so a broken stack never looks healthy. This is the only module that
knows every concrete class.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import uvicorn
from psycopg_pool import AsyncConnectionPool

from api.app import Role, create_app
from api.context import Context
from api.revocations import RevocationCache
from api.tokens import TokenSigner
from commands import host_reports, ingest
from commands.application import NimbusApplication
from commands.catalog import ensure_defaults
from commands.identity import IdentityCommands
from commands.image_files import ImageFiles
from commands.services import CloudLimits, Commands
from domain import volume_types
from domain.host import AllocationRatios, Capacity
from domain.messages import Subjects
from domain.quota import QuotaDefaults
from migrations.runner import upgrade
from projections import projector, relay
from runtime import credentials
from runtime.host_requests import HostRequests
from runtime.settings import Settings
from workers.hypervisor import heartbeat, worker
from workers.hypervisor.libvirt_adapter import empty_host_uri
from workers.storage import worker as storage_worker
from workers.storage.file_backing import FileBacking
from workers.storage.lio_exporter import LioExporter
from workers.storage.lvm_backing import LvmBacking
from workers.storage.port import Backing, Exporter, StorageUnavailable
from workers.storage.tgt_daemon import TgtDaemon

log = logging.getLogger(__name__)


def host_uri(settings: Settings, host: str) -> str:
    """The libvirt URI of a host: configured, or an empty simulated host."""
    if settings.libvirt_uri:
        return settings.libvirt_uri
    directory = settings.state_path / "hosts"
    directory.mkdir(parents=True, exist_ok=True)
    return empty_host_uri(Path(directory), host, vcpus=settings.host_vcpus,
                          memory_mb=settings.host_memory_mb)


def quota_defaults(settings: Settings) -> QuotaDefaults:
    """The quota_* settings as the domain's default limits."""
    return QuotaDefaults(**{name: getattr(settings, f"quota_{name}")
                            for name in QuotaDefaults.__struct_fields__})


def cloud_limits(settings: Settings) -> CloudLimits:
    return CloudLimits(
        quotas=quota_defaults(settings),
        ratios=AllocationRatios(cpu=settings.cpu_allocation_ratio,
                                ram=settings.ram_allocation_ratio,
                                disk=settings.disk_allocation_ratio),
        host_capacity=Capacity(vcpus=settings.host_vcpus, memory_mb=settings.host_memory_mb,
                               local_gb=settings.host_disk_gb),
    )


def volume_backing(settings: Settings, host: str) -> Backing:
    """Where ``host``'s volumes keep their bytes: sparse files under the state
    dir (the default), or the LVM volume group ``nova-volumes``."""
    if settings.volume_backing == "lvm":
        return LvmBacking()
    return FileBacking(settings.state_path / "volumes" / host)


async def volume_exporter(settings: Settings, daemons: list[TgtDaemon]) -> Exporter | None:
    """How a storage host exports volumes (the seed's ``iscsi_helper``): the
    kernel's LIO target (``lioadm``), or a private userspace tgtd that nimbus
    starts and stops itself (``tgtadm``, added to ``daemons``). None, and a
    warning, when tgtd is not installed: attaches then fail with that reason."""
    if settings.iscsi_helper == "lioadm":
        return LioExporter()
    daemon = TgtDaemon()
    try:
        await asyncio.to_thread(daemon.start)
    except StorageUnavailable as error:
        log.warning("volumes cannot be exported: %s", error)
        return None
    daemons.append(daemon)
    return daemon.exporter()


def _required(commands: Commands | None) -> Commands:
    assert commands is not None
    return commands


def context(settings: Settings, commands: Commands | None,
            pool: AsyncConnectionPool[Any] | None, identity: IdentityCommands,
            database_url: str) -> Context:
    return Context(
        signer=TokenSigner(credentials.token_secret(settings), settings.token_ttl_seconds),
        base_url=settings.base_url, region=settings.region, identity=identity,
        revocations=RevocationCache(database_url),
        query_wait_seconds=settings.query_wait_seconds, commands=commands, pool=pool,
        max_request_body_bytes=settings.max_request_body_bytes,
        request_body_timeout_seconds=settings.request_body_timeout_seconds,
    )


def open_identity(commands: Commands | None, database_url: str) -> IdentityCommands:
    """Logins read the write side: a query-only process opens the store for that."""
    return commands.identity if commands else IdentityCommands(NimbusApplication(database_url))


async def ensure_admin(settings: Settings, identity: IdentityCommands) -> None:
    """The first admin, made once; a second start writes nothing."""
    await asyncio.to_thread(
        identity.ensure_admin, user=settings.admin_user, project=settings.admin_project,
        password=credentials.admin_password(settings))


async def ensure_catalog(settings: Settings, commands: Commands) -> None:
    """Image bytes under <state_dir>/images; the default flavors and image
    recorded once (a second start writes nothing)."""
    commands.image_files = ImageFiles(settings.state_path / "images", settings.image_size_cap)
    await asyncio.to_thread(ensure_defaults, commands.flavors, commands.images)


PARTS = frozenset({"api", "relay", "projector", "ingester", "hypervisor", "storage"})


async def serve(
    settings: Settings, database_url: str, nats_url: str, stop: asyncio.Event,
    on_ready: Callable[[], None] | None = None, *, parts: frozenset[str] = PARTS,
    hosts: list[str] | None = None, api_role: Role = "all",
) -> None:
    """Run ``parts`` of the stack until ``stop`` is set or one part fails."""
    await asyncio.to_thread(upgrade, database_url)
    subjects = Subjects(settings.subject_prefix)
    needs_app = "ingester" in parts or ("api" in parts and api_role != "query")
    commands = (Commands.open(database_url, settings.hosts, limits=cloud_limits(settings))
                if needs_app else None)
    types = volume_types.catalog(settings.storage_hosts, settings.volume_types)
    if commands is not None:
        commands.volume_types = types
        await ensure_catalog(settings, commands)
    pool: AsyncConnectionPool[Any] | None = None
    if "api" in parts and api_role != "command":
        pool = AsyncConnectionPool(database_url, min_size=2, max_size=10, open=False)
        await pool.open()
    identity = open_identity(commands, database_url)
    if "api" in parts:
        await ensure_admin(settings, identity)
    ctx = context(settings, commands, pool, identity, database_url)
    ctx.extra["image_dir"] = settings.state_path / "images"
    ctx.extra["quota_defaults"] = quota_defaults(settings)
    ctx.extra["service_down_time"] = settings.service_down_time
    ctx.extra["volume_types"] = types
    host_requests = HostRequests(nats_url, subjects.prefix)
    ctx.ask_host = host_requests
    server = uvicorn.Server(uvicorn.Config(
        create_app(ctx, api_role), host=settings.api_host,
        port=settings.api_port, log_level="warning", lifespan="off",
    ))
    projector_stop = threading.Event()
    runnable: dict[str, Callable[[], Awaitable[None]]] = {
        "api": server.serve,
        "relay": lambda: relay.run(database_url, nats_url, subjects, stop),
        "projector": lambda: asyncio.to_thread(projector.run, database_url, projector_stop),
        "ingester": lambda: ingest.run(
            _required(commands).instances, _required(commands).volumes,
            _required(commands).snapshots, _required(commands).backups, nats_url, subjects,
            stop),
    }
    started: dict[str, Awaitable[None]] = {n: runnable[n]() for n in runnable if n in parts}
    if "hypervisor" in parts:
        for host in hosts or settings.hosts:
            started[f"hypervisor-{host}"] = worker.run(
                nats_url, subjects.prefix, host, host_uri(settings, host), stop)
            started[f"heartbeat-{host}"] = heartbeat.run_on_libvirt(
                nats_url, subjects.prefix, host, host_uri(settings, host), stop,
                disk_gb=settings.host_disk_gb, interval=settings.report_interval)
    daemons: list[TgtDaemon] = []
    if "storage" in parts:
        for host in settings.storage_hosts:
            exporter = await volume_exporter(settings, daemons)
            started[f"storage-{host}"] = storage_worker.run(
                nats_url, subjects.prefix, host, volume_backing(settings, host), exporter,
                settings.state_path / "backups" / host, stop)
    if "ingester" in parts:
        started["host-reports"] = host_reports.run(
            _required(commands).hosts, database_url, nats_url, subjects.prefix, stop)
    tasks = {asyncio.ensure_future(part): name for name, part in started.items()}
    try:
        while "api" in parts and not server.started:
            if any(t.done() for t in tasks):
                break
            await asyncio.sleep(0.02)
        else:
            if on_ready:
                on_ready()
        stopper: asyncio.Future[Any] = asyncio.ensure_future(stop.wait())
        await asyncio.wait([stopper, *tasks], return_when=asyncio.FIRST_COMPLETED)
        stopper.cancel()
        for task, name in tasks.items():
            if task.done() and not task.cancelled() and task.exception():
                log.error("%s failed: %s", name, task.exception())
    finally:
        stop.set()
        projector_stop.set()
        server.should_exit = True
        results = await asyncio.gather(*tasks, return_exceptions=True)
        if pool is not None:
            await pool.close()
        if commands is not None:
            commands.close()
        elif identity.app is not None:
            identity.app.close()
        ctx.revocations.close()
        await host_requests.close()
        for daemon in daemons:
            await asyncio.to_thread(daemon.stop)
    failures = [f"{name}: {r}" for name, r in zip(tasks.values(), results, strict=True)
                if isinstance(r, BaseException) and not isinstance(r, asyncio.CancelledError)]
    if failures:
        raise RuntimeError("nimbus stopped because a part failed: " + "; ".join(failures))
