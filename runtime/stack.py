"""Wires the parts of nimbus together and runs them in one process.

The API (uvicorn), the relay, the projector, the outcome ingester and one
hypervisor worker per configured host run as tasks of one event loop (the
projector, being synchronous, in a thread). The first part to fail stops the
others, so a broken stack never looks healthy: a lost database fails the
relay and the projector at once, every other database wait is bounded
(``session_bounds``), and the stack stops saying so in one line. This is the
only module that knows every concrete class.

uvicorn parses HTTP with httptools (a dependency; its C parser costs a
fraction of h11's per request), which it picks by itself when installed.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import sys
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import psycopg
import uvicorn
from psycopg.conninfo import conninfo_to_dict
from psycopg_pool import AsyncConnectionPool

from api.app import Role, create_app
from api.context import ApiSettings, Context
from api.metadata.service import MetadataContext, create_metadata_app
from api.revocations import RevocationCache
from api.tokens import TokenSigner
from commands import deadlines, host_reports, ingest
from commands.application import NimbusApplication, Retries
from commands.catalog import ensure_defaults
from commands.event_store import LendCheck, SessionBounds, StoreUnavailable
from commands.identity import IdentityCommands
from commands.image_files import ImageFiles
from commands.network_reports import NetworkReports
from commands.services import CloudLimits, Commands
from commands.volume_types import ensure_types
from domain import log_context
from domain.host import AllocationRatios, Capacity
from domain.quota import QuotaDefaults
from messaging.subjects import Subjects
from migrations.runner import upgrade
from projections import overdue, projector, relay
from runtime import credentials
from runtime.host_requests import HostRequests
from runtime.settings import Settings
from workers.child_process import parent_death_hook
from workers.hypervisor import heartbeat, worker
from workers.hypervisor.libvirt_adapter import empty_host_uri
from workers.network import worker as network_worker
from workers.network.host import NamespaceNetworkHost
from workers.network.port import NetworkHost
from workers.network.recorded import RecordedNetworkHost
from workers.storage import worker as storage_worker
from workers.storage.file_backing import FileBacking
from workers.storage.lio_exporter import LioExporter
from workers.storage.lvm_backing import LvmBacking
from workers.storage.port import Backing, Exporter, StorageUnavailable
from workers.storage.tgt_daemon import TgtDaemon

log = logging.getLogger(__name__)
T = TypeVar("T")

# the parts `nimbus up` runs, and `nimbus run` offers; these need the database
PARTS = frozenset({"api", "relay", "projector", "ingester", "hypervisor", "storage",
                   "network", "metadata"})
METADATA_PROXY_PORT = 8775  # in each network host's namespace (Nova's metadata port)
DATABASE_PARTS = frozenset({"api", "relay", "projector", "ingester", "metadata"})
GRACE_SECONDS = 10  # what requests in flight get to finish when the stack stops


class StackFailed(RuntimeError):
    """A part failed, so the whole stack stopped; the message says why in one line."""


def host_uri(settings: Settings, host: str) -> str:
    """The libvirt URI of a host: configured, or a simulated host that keeps its
    guests across restarts (in the state dir, as a real host keeps its disks)."""
    if settings.libvirt_uri:
        return settings.libvirt_uri
    directory = settings.state_path / "hosts"
    directory.mkdir(parents=True, exist_ok=True)
    return empty_host_uri(Path(directory), host, vcpus=settings.host_vcpus,
                          memory_mb=settings.host_memory_mb, keep_guests=True)


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


def session_bounds(settings: Settings) -> SessionBounds:
    """The database_* settings: how long any database session may wait or hold."""
    return SessionBounds(
        lock_timeout=settings.database_lock_timeout,
        statement_timeout=settings.database_statement_timeout,
        idle_in_transaction_timeout=settings.database_idle_in_transaction_timeout,
        connect_timeout=settings.database_connect_timeout,
    )


def volume_backing(settings: Settings, host: str) -> Backing:
    """Where ``host``'s volumes keep their bytes: sparse files under the state
    dir (the default), or the LVM volume group ``nova-volumes``."""
    if settings.volume_backing == "lvm":
        return LvmBacking()
    return FileBacking(settings.state_path / "volumes" / host)


def volume_exporter(settings: Settings, host: str, daemons: list[TgtDaemon]) -> Exporter | None:
    """How a storage host exports volumes (the seed's ``iscsi_helper``): the
    kernel's LIO target (``lioadm``), or a private userspace tgtd that nimbus
    starts and stops itself (``tgtadm``, added to ``daemons``). None, and a
    warning, when tgtd is not installed: attaches then fail with that reason.

    The tgtd is started from this thread, the event loop's (the main thread):
    the kernel's parent-death signal that stops it if nimbus is killed belongs
    to the thread that forked it, and a worker thread may end before nimbus.
    Its pid file under the state dir lets the next start stop a tgtd that a
    crash left behind anyway; its port file keeps its portal where the log's
    exports say it is."""
    if settings.iscsi_helper == "lioadm":
        return LioExporter()
    daemon = TgtDaemon(pid_file=settings.state_path / "tgtd" / f"{host}.pid",
                       port_file=settings.state_path / "tgtd" / f"{host}.port")
    try:
        daemon.start()
    except StorageUnavailable as error:
        log.warning("volumes cannot be exported: %s", error)
        return None
    daemons.append(daemon)
    return daemon.exporter()


def _required(part: T | None) -> T:
    assert part is not None
    return part


def context(settings: Settings, commands: Commands | None,
            pool: AsyncConnectionPool[Any] | None, identity: IdentityCommands,
            database_url: str) -> Context:
    return Context(
        signer=TokenSigner(credentials.token_secret(settings), settings.token_ttl_seconds),
        base_url=settings.base_url, region=settings.region, identity=identity,
        revocations=RevocationCache(database_url),
        settings=ApiSettings(image_dir=settings.state_path / "images",
                             quota_defaults=quota_defaults(settings),
                             service_down_time=settings.service_down_time,
                             storage_hosts=tuple(settings.storage_hosts),
                             network_manager=settings.network_manager,
                             vlan_start=settings.vlan_start,
                             stuck_after_seconds=settings.stuck_after_seconds,
                             metrics_series_limit=settings.metrics_series_limit,
                             metrics_resource_series=settings.metrics_resource_series,
                             allocation_ratios=AllocationRatios(
                                 cpu=settings.cpu_allocation_ratio,
                                 ram=settings.ram_allocation_ratio,
                                 disk=settings.disk_allocation_ratio)),
        query_wait_seconds=settings.query_wait_seconds, commands=commands, pool=pool,
        max_request_body_bytes=settings.max_request_body_bytes,
        request_body_timeout_seconds=settings.request_body_timeout_seconds,
    )


def open_identity(commands: Commands | None, database_url: str,
                  bounds: SessionBounds) -> IdentityCommands:
    """Logins read the write side: a query-only process opens the store for that."""
    return commands.identity if commands else IdentityCommands(
        NimbusApplication(database_url, bounds=bounds))


async def ensure_admin(settings: Settings, identity: IdentityCommands) -> None:
    """The first admin, made once; a second start writes nothing."""
    await asyncio.to_thread(
        identity.ensure_admin, user=settings.admin_user, project=settings.admin_project,
        password=credentials.admin_password(settings))


@dataclass
class Api:
    """The API's server and what it opened besides: a store for logins (in a
    query-only process), the token revocation cache, the requests to hosts."""

    server: uvicorn.Server
    ctx: Context
    identity: IdentityCommands
    owns_store: bool
    host_requests: HostRequests

    @classmethod
    async def open(cls, settings: Settings, commands: Commands | None,
                   pool: AsyncConnectionPool[Any] | None, database_url: str,
                   bounds: SessionBounds, nats_url: str,
                   api_role: Role) -> Api:
        identity = open_identity(commands, database_url, bounds)
        await ensure_admin(settings, identity)
        ctx = context(settings, commands, pool, identity, bounds.conninfo(database_url))
        host_requests = HostRequests(nats_url, settings.subject_prefix)
        ctx.console = host_requests.console
        ctx.diagnostics = host_requests.diagnostics
        ctx.migration_control = host_requests.migration_control
        ctx.consumer_parts = host_requests.consumer_parts
        server = uvicorn.Server(uvicorn.Config(
            create_app(ctx, api_role), host=settings.api_host,
            port=settings.api_port, log_level="warning", log_config=None, lifespan="off",
            timeout_graceful_shutdown=GRACE_SECONDS,
        ))
        return cls(server, ctx, identity, commands is None, host_requests)

    async def close(self) -> None:
        if self.owns_store:
            self.identity.app.close()
        self.ctx.revocations.close()
        await self.host_requests.close()


async def ensure_catalog(settings: Settings, commands: Commands) -> None:
    """Image bytes under <state_dir>/images, with the uploads a stopped
    process left behind given up; the default flavors and image recorded
    once (a second start writes nothing)."""
    commands.image_files = ImageFiles(settings.state_path / "images", settings.image_size_cap)
    given_up = await asyncio.to_thread(commands.images.recover_cut_uploads)
    if given_up:
        log.warning("uploads cut off by a stop, their images queued again: %s",
                    ", ".join(given_up))
    await asyncio.to_thread(ensure_defaults, commands.flavors, commands.images)
    await asyncio.to_thread(ensure_types, commands.volume_types, settings.volume_types)
    await asyncio.to_thread(commands.networks.ensure_default, project_id=settings.admin_project,
                            name=settings.network_label, cidr=settings.fixed_range)


def network_namespace(subject_prefix: str, host: str) -> str:
    """The namespace network host ``host`` renders in: one per host and per cloud
    (clouds on one machine keep apart by their subject prefix)."""
    cloud = "nimbus" if subject_prefix == "nimbus" else f"nimbus-{subject_prefix}"
    return f"{cloud}-{host}"


def network_settings(settings: Settings, host: str) -> network_worker.Settings:
    """The network worker's settings: the manager the API's ``provider:*`` names too;
    on a namespace host, its metadata proxy."""
    on_namespace = settings.network_driver == "namespace"
    return network_worker.Settings(
        manager=settings.network_manager, vlan_start=settings.vlan_start,
        metadata_port=METADATA_PROXY_PORT if on_namespace else None,
        namespace=network_namespace(settings.subject_prefix, host) if on_namespace else None,
        metadata_upstream=(settings.metadata_host, settings.metadata_port),
        metadata_secret=credentials.metadata_secret(settings))


def network_host(settings: Settings, host: str) -> NetworkHost:
    """The network host ``host`` renders on (settings ``network_driver``)."""
    state = settings.state_path / "network" / host
    if settings.network_driver == "recorded":
        return RecordedNetworkHost(state)
    return NamespaceNetworkHost(network_namespace(settings.subject_prefix, host), state)


def listening_socket(host: str, port: int, *, reuse_port: bool = False) -> socket.socket:
    """A TCP socket listening on ``host``:``port``, made as asyncio makes its
    own: its protocol named (``IPPROTO_TCP``), for asyncio sets TCP_NODELAY on
    the connections it accepts only then. ``socket.create_server`` names none,
    and its connections' answers then waited for the client's delayed ACK
    (40 ms per request on a kept-alive connection)."""
    family, kind, proto, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(address)
        sock.listen(2048)
    except OSError:
        sock.close()
        raise
    return sock


async def _until(server: uvicorn.Server, stop: asyncio.Event, what: str, *,
                 reuse_port: bool = False) -> None:
    """Serve until ``stop`` is set, on a socket bound here: a port in use is
    this part's error, said plainly, not uvicorn's exit of the whole process.
    ``reuse_port``: other processes serve the same port (``api_processes``)."""
    host, port = server.config.host, server.config.port
    try:
        sock = listening_socket(host, port, reuse_port=reuse_port)
    except OSError as error:
        raise OSError(error.errno, f"the {what} cannot listen on {host}:{port}:"
                      f" {error.strerror}") from error

    async def stopper() -> None:
        await stop.wait()
        server.should_exit = True

    watching = asyncio.ensure_future(stopper())
    try:
        await server.serve(sockets=[sock])
    finally:
        watching.cancel()


async def api_processes(settings: Settings, database_url: str, nats_url: str, count: int,
                        stop: asyncio.Event) -> None:
    """``count`` more processes serving the API on its port, as ``nimbus run api
    --reuse-port`` on the same database and NATS, until ``stop`` is set; one
    that exits before is this part's failure. They die with this process."""
    env = {**os.environ, "NIMBUS_DATABASE_URL": database_url, "NIMBUS_NATS_URL": nats_url,
           "NIMBUS_API_PORT": str(settings.api_port), "NIMBUS_API_PROCESSES": "1"}
    children = [await asyncio.create_subprocess_exec(
        sys.executable, "-m", "runtime.cli", "run", "api", "--reuse-port", env=env,
        preexec_fn=parent_death_hook(signal.SIGTERM)) for _ in range(count)]
    exits = [asyncio.ensure_future(child.wait()) for child in children]
    stopping = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait([stopping, *exits], return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopping.cancel()
        for child in children:
            if child.returncode is None:
                child.terminate()
        try:
            await asyncio.wait_for(asyncio.gather(*exits), GRACE_SECONDS + 5)
        except TimeoutError:
            for child in children:
                if child.returncode is None:
                    child.kill()
            await asyncio.gather(*exits)
    if not stop.is_set():
        codes = ", ".join(str(c.returncode) for c in children if c.returncode is not None)
        raise RuntimeError(f"an API process exited ({codes}) while nimbus was running")


def _first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0]


def failed(failures: dict[str, BaseException], database_url: str) -> StackFailed:
    """Why the stack stopped, in one line: a lost database above all."""
    lost = [e for e in failures.values()
            if isinstance(e, psycopg.OperationalError | StoreUnavailable)]
    if lost:
        info = conninfo_to_dict(database_url)
        host = str(info.get("host") or "localhost")
        where = host if host.startswith("/") else f"{host}:{info.get('port') or 5432}"
        return StackFailed(f"PostgreSQL at {where} (database {info.get('dbname')}) stopped "
                           f"answering: {_first_line(lost[0])}; nimbus is stopping")
    return StackFailed("nimbus stopped because a part failed: " + "; ".join(
        f"{name}: {_first_line(error)}" for name, error in failures.items()))


async def as_part(name: str, work: Awaitable[None]) -> None:
    """Run ``work`` with its log lines naming the part (domain/log_context.py)."""
    log_context.bind(part=name)
    await work


async def serve(
    settings: Settings, database_url: str, nats_url: str, stop: asyncio.Event,
    on_ready: Callable[[], None] | None = None, *, parts: frozenset[str] = PARTS,
    hosts: list[str] | None = None, api_role: Role = "all", retries: Retries | None = None,
    reuse_port: bool = False,
) -> None:
    """Run ``parts`` of the stack until ``stop`` is set or one part fails
    (then raise StackFailed). Workers alone never touch the database.
    ``retries``: the write side's retry policy, whose conflicts a caller may count."""
    if parts & DATABASE_PARTS:
        await asyncio.to_thread(upgrade, database_url)
    bounds = session_bounds(settings)
    bounded_url = bounds.conninfo(database_url)  # every other session, bounded too
    subjects = Subjects(settings.subject_prefix)
    needs_app = "ingester" in parts or ("api" in parts and api_role != "query")
    commands = (Commands.open(database_url, settings.hosts, limits=cloud_limits(settings),
                              bounds=bounds, retries=retries)
                if needs_app else None)
    if commands is not None:
        commands.storage_hosts = list(settings.storage_hosts)
        commands.instances.resume_guests = settings.resume_guests_state_on_host_boot
        await ensure_catalog(settings, commands)
    pool: AsyncConnectionPool[Any] | None = None
    if ("api" in parts and api_role != "command") or "metadata" in parts:
        pool = AsyncConnectionPool(bounded_url, min_size=2, max_size=10, open=False,
                                   timeout=bounds.connect_timeout or 30.0,
                                   check=LendCheck().lending)
        await pool.open()
    api = (await Api.open(settings, commands, pool, database_url, bounds, nats_url,
                          api_role) if "api" in parts else None)
    network_reports = (NetworkReports(commands.networks, bounded_url)
                       if commands is not None else None)
    projector_stop = threading.Event()
    runnable: dict[str, Callable[[], Awaitable[None]]] = {
        "api": lambda: _until(_required(api).server, stop, "API",
                              reuse_port=reuse_port or settings.api_processes > 1),
        "relay": lambda: relay.run(bounded_url, nats_url, subjects, stop),
        "projector": lambda: asyncio.to_thread(projector.run, bounded_url, projector_stop),
        "ingester": lambda: ingest.run(
            _required(commands).instances, _required(commands).volumes,
            _required(commands).snapshots, _required(commands).backups,
            _required(network_reports), nats_url, subjects, stop,
            server_images=_required(commands).server_images),
    }
    started: dict[str, Awaitable[None]] = {n: runnable[n]() for n in runnable if n in parts}
    if "hypervisor" in parts:
        for host in hosts or settings.hosts:
            started[f"hypervisor-{host}"] = worker.run(
                nats_url, subjects.prefix, host, host_uri(settings, host), stop,
                reconcile_interval=settings.reconcile_interval_seconds,
                qemu_img=settings.qemu_img)
            started[f"heartbeat-{host}"] = heartbeat.run_on_libvirt(
                nats_url, subjects.prefix, host, host_uri(settings, host), stop,
                disk_gb=settings.host_disk_gb, interval=settings.report_interval)
    daemons: list[TgtDaemon] = []
    if "storage" in parts:
        for host in settings.storage_hosts:
            exporter = volume_exporter(settings, host, daemons)
            started[f"storage-{host}"] = storage_worker.run(
                nats_url, subjects.prefix, host, volume_backing(settings, host), exporter,
                settings.state_path / "backups" / host, stop)
    if "network" in parts:
        for host in settings.network_hosts:
            started[f"network-{host}"] = network_worker.run(
                nats_url, subjects.prefix, host, network_host(settings, host), stop,
                network_settings(settings, host))
    if "metadata" in parts:
        metadata = uvicorn.Server(uvicorn.Config(
            create_metadata_app(MetadataContext(
                views=_required(pool), shared_secret=credentials.metadata_secret(settings))),
            host=settings.metadata_host, port=settings.metadata_port, log_level="warning",
            log_config=None, lifespan="off", timeout_graceful_shutdown=GRACE_SECONDS))
        started["metadata"] = _until(metadata, stop, "metadata service")
    if "api" in parts and settings.api_processes > 1:
        started["api-processes"] = api_processes(settings, database_url, nats_url,
                                                 settings.api_processes - 1, stop)
    if "ingester" in parts:
        started["host-reports"] = host_reports.run(
            _required(commands).hosts, bounded_url, nats_url, subjects.prefix, stop)
    if "ingester" in parts and settings.operation_deadline_seconds > 0:
        started["deadlines"] = deadlines.run(
            deadlines.Deadlines(_required(commands).app,
                                lambda before: overdue.overdue(bounded_url, before),
                                deadline_seconds=settings.operation_deadline_seconds),
            deadlines.interval_for(settings.operation_deadline_seconds), stop)
    tasks = {asyncio.ensure_future(as_part(name, part)): name for name, part in started.items()}
    try:
        while api is not None and not api.server.started:
            if any(t.done() for t in tasks):
                break
            await asyncio.sleep(0.02)
        else:
            if on_ready:
                on_ready()
        stopper: asyncio.Future[Any] = asyncio.ensure_future(stop.wait())
        await asyncio.wait([stopper, *tasks], return_when=asyncio.FIRST_COMPLETED)
        stopper.cancel()
    finally:
        stop.set()
        projector_stop.set()
        if api is not None:
            api.server.should_exit = True
        results = await asyncio.gather(*tasks, return_exceptions=True)
        for daemon in daemons:  # first: nothing below may leave a tgtd running
            await asyncio.to_thread(daemon.stop)
        if api is not None:
            await api.close()
        if pool is not None:
            await pool.close()
        if network_reports is not None:
            network_reports.close()
        if commands is not None:
            commands.close()
    failures = {name: r for name, r in zip(tasks.values(), results, strict=True)
                if isinstance(r, BaseException) and not isinstance(r, asyncio.CancelledError)}
    for name, error in failures.items():
        log.debug("%s failed", name, exc_info=error)
    if failures:
        raise failed(failures, database_url)
