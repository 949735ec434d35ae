"""One settings object for every nimbus process.

Values come from, in rising priority: the defaults below (modelled on the
seed's nova.conf flags), an optional TOML file (``NIMBUS_CONFIG``), and
``NIMBUS_*`` environment variables (``NIMBUS_API_PORT=9000``,
``NIMBUS_HOSTS=compute1,compute2``). No database or NATS URL means "start
the embedded ones under the state directory".
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal

import msgspec
import platformdirs


def default_state_dir() -> str:
    """The user's data directory; /var/lib/nimbus for root (a system service),
    so that the embedded PostgreSQL, run as the postgres user, can reach it."""
    if os.geteuid() == 0:
        return "/var/lib/nimbus"
    return platformdirs.user_data_dir("nimbus")


class Settings(msgspec.Struct, kw_only=True):
    state_dir: str = msgspec.field(default_factory=default_state_dir)
    database_url: str | None = None
    nats_url: str | None = None
    subject_prefix: str = "nimbus"
    api_host: str = "127.0.0.1"
    api_port: int = 8774  # the seed's osapi_listen_port
    # processes serving the API on its port (the seed's osapi_workers): above 1,
    # `nimbus up` starts the others as `nimbus run api --reuse-port`, and the
    # kernel spreads connections over them; each has a core and a GIL of its own
    api_processes: int = 1
    public_url: str | None = None  # what the catalog advertises
    # how every process logs (runtime/logs.py): "text" (the seed's context
    # format) or "json" (one object a line); the level: debug, info, warning,
    # error, or "" for warning (info with -v)
    log_format: str = "text"
    log_level: str = ""
    region: str = "RegionOne"
    hosts: list[str] = msgspec.field(default_factory=lambda: ["compute1", "compute2"])
    # storage hosts: each runs a storage worker; volumes go to the first (first-fit)
    storage_hosts: list[str] = msgspec.field(default_factory=lambda: ["storage1"])
    # volume types (the seed's xensm flavors): name -> its storage hosts, first-fit,
    # recorded at the first start (admins manage them through Cinder's API from then
    # on); __DEFAULT__ is every storage host. TOML only: [volume_types] gold = ["storage1"]
    volume_types: dict[str, list[str]] = {}
    volume_backing: Literal["file", "lvm"] = "file"  # sparse raw files, or LVM group nova-volumes
    # the seed's flag: tgtadm (a private userspace tgtd) or lioadm (the kernel's LIO target)
    iscsi_helper: Literal["tgtadm", "lioadm"] = "tgtadm"
    backups_retention_days: int = 7  # the seed's backup script; `nimbus backup prune`
    # the seed's network flags: how fixed networks are carried (domain.network.provider)
    network_manager: Literal["flat", "flatdhcp", "vlan"] = "flatdhcp"
    vlan_start: int = 100  # the vlan manager's first segment; network n gets vlan_start + n
    libvirt_uri: str | None = None  # None: libvirt's test driver, one per host
    admin_user: str = "admin"
    admin_project: str = "admin"
    admin_password: str | None = None  # None: generated once, kept in state_dir
    token_ttl_seconds: int = 3600
    query_wait_seconds: float = 5.0  # read-your-writes wait limit
    # every database session's bounds, in whole seconds (0: unbounded): a writer
    # waits this long for the event log's lock, then answers 503 ...
    database_lock_timeout: int = 5
    database_statement_timeout: int = 10  # ... a statement runs at most this long
    database_idle_in_transaction_timeout: int = 10  # an idle transaction is then cut off
    database_connect_timeout: int = 5  # connecting, or waiting for a pooled connection
    # quotas per project (the seed's quota_* flags; -1 is unlimited)
    quota_instances: int = 10
    quota_cores: int = 20
    quota_ram: int = 51200  # MB
    quota_floating_ips: int = 10
    quota_fixed_ips: int = -1
    quota_volumes: int = 10
    quota_gigabytes: int = 1000
    quota_snapshots: int = 10
    quota_backups: int = 10
    quota_backup_gigabytes: int = 1000
    quota_per_volume_gigabytes: int = -1
    quota_groups: int = 10
    quota_metadata_items: int = 128
    quota_injected_files: int = 5
    quota_injected_file_content_bytes: int = 10240
    quota_injected_file_path_bytes: int = 255
    quota_key_pairs: int = 100
    quota_security_groups: int = 10
    quota_security_group_rules: int = 20
    quota_server_groups: int = 10
    quota_server_group_members: int = 10
    # hosts: each simulated host's capacity (written into its libvirt test-driver
    # node; also what a configured host is registered with before it reports)
    host_vcpus: int = 16
    host_memory_mb: int = 32768
    host_disk_gb: int = 500  # a real host reports vCPUs and memory; disk is this
    cpu_allocation_ratio: float = 1.0  # 1.0: placement never over-commits
    ram_allocation_ratio: float = 1.0
    disk_allocation_ratio: float = 1.0
    report_interval: float = 10.0  # seconds between a host's heartbeats (seed default)
    service_down_time: float = 60.0  # a host silent this long is "down" (Nova's default)
    # a view, the relay, the ingester or a host whose oldest waiting event has
    # waited this long is stuck (/readyz and /metrics: api/health.py)
    stuck_after_seconds: float = 60.0
    # /metrics gives a series per live server and volume for at most this many
    # of each, the newest (api/cloud_gauges.py)
    metrics_series_limit: int = 1000
    # false: /metrics leaves out those per-server and per-volume series (their
    # ids and names), keeping the counts (docs/observability.md)
    metrics_resource_series: bool = True
    # a hypervisor host reports its guests on start and this often; the control plane
    # records where they differ from the log (domain/instance_observations.py) ...
    reconcile_interval_seconds: float = 60.0
    # ... and brings back the guests a host lost (the seed's flag; on here): start,
    # then pause or suspend as recorded. Off: they stay SHUTOFF with a fault saying so
    resume_guests_state_on_host_boot: bool = True
    image_size_cap: int = 1099511627776  # bytes; Glance's image_size_cap (uploads above: 413)
    # a request body larger than this is refused (413) before it is parsed
    # (oslo.middleware's max_request_body_size); image uploads have image_size_cap
    max_request_body_bytes: int = 114688
    # a body must arrive within this (408); an image upload may not pause this long
    request_body_timeout_seconds: float = 30.0
    # the fixed network made at first start (the seed's fixed_range, network_size 256:
    # its first network), shared by every project; `nimbus network create` makes more
    fixed_range: str = "10.0.0.0/24"
    network_label: str = "private"
    # the network hosts: each runs a network worker that renders every fixed network
    network_hosts: list[str] = msgspec.field(default_factory=lambda: ["network1"])
    # namespace: each network host's bridges, dnsmasq and nftables live in a network
    # namespace of its own (nimbus-<host>; never the root namespace; needs root, ip,
    # dnsmasq and nft: scripts/install.sh); recorded: the host's plan is written under
    # state_dir and nothing else (no guest traffic: for machines where nimbus may not
    # touch networking, and for tests)
    network_driver: Literal["namespace", "recorded"] = "namespace"
    # the metadata service guests reach at 169.254.169.254 (the network host DNATs it here)
    metadata_host: str = "127.0.0.1"  # the seed's metadata_host
    metadata_port: int = 8775  # the seed's metadata_port
    # what a metadata proxy signs X-Instance-ID with; None: generated once, kept in state_dir
    metadata_proxy_shared_secret: str | None = None
    # an operation a host has not answered this long (its worker dead, its message
    # lost) ends failed, as if the host refused it: a boot in ERROR, a pause back to
    # ACTIVE, an attach leaving the volume available (domain/deadlines.py); 0: never
    operation_deadline_seconds: float = 300.0
    qemu_img: str = "qemu-img"  # what copies a guest's disk for createImage (and makes disks)

    @property
    def state_path(self) -> Path:
        return Path(self.state_dir)

    @property
    def base_url(self) -> str:
        return (self.public_url or f"http://{self.api_host}:{self.api_port}").rstrip("/")


_LIST_FIELDS = {"hosts", "storage_hosts", "network_hosts"}


def load(overrides: dict[str, Any] | None = None, env: dict[str, str] | None = None) -> Settings:
    """Defaults, then the TOML file, then NIMBUS_* variables, then overrides."""
    env = dict(os.environ) if env is None else env
    values: dict[str, Any] = {}
    config = env.get("NIMBUS_CONFIG")
    if config:
        with open(config, "rb") as f:
            values.update(tomllib.load(f))
    for name in Settings.__struct_fields__:
        raw = env.get(f"NIMBUS_{name.upper()}")
        if raw is not None and raw != "":
            if name in _LIST_FIELDS:
                values[name] = [h.strip() for h in raw.split(",") if h.strip()]
            else:
                values[name] = raw
    values.update(overrides or {})
    try:
        return msgspec.convert(values, Settings, strict=False)
    except msgspec.ValidationError as exc:
        raise SystemExit(f"nimbus: bad setting: {exc}") from None
