"""The hypervisor port on libvirt: the only module that imports ``libvirt``.

In production the URI is ``qemu:///system`` (KVM guests); tests and the
embedded default use libvirt's own test driver, a real libvirt API without a
daemon. Each connection to ``test:///<abs path>`` holds a private host whose
initial contents come from that file: ``empty_host_uri`` writes one for each
simulated host (with ``keep_guests``, the guests it kept stay), and the adapter
appends each change of a guest to the host's journal beside it
(``<host>-guests.jsonl``: one line per change, however many guests the host
has; appending costs a small fraction of rewriting a file), so a host
outlives its worker's process as a real one does.
Calls block: the worker runs them in threads. Errors are sorted into
``HostUnavailable`` (connection trouble: retry later) and ``GuestError``
(libvirt refused: report a failure).

Suspend is libvirt's managed save (``virDomainManagedSave``); ``start``
(``virDomainCreate``) restores a managed-saved guest. Every guest gets a
serial console written to ``<console_dir>/instance-<uuid>.log``, which is
what os-getConsoleOutput reads. libvirt's test driver runs no guest and so
writes no console: on it, the adapter itself appends one line per lifecycle
step (defined, started, paused, ...) to that file, and that is the "console".

Every guest has a real qcow2 root disk, ``<disk_dir>/<uuid>.qcow2``, in its
definition as ``vda``. Defining a guest must stay cheap (boots are
benchmarked), so ``qemu-img create`` runs once per virtual size, making an
empty template (``.empty-<N>G.qcow2``, about 200 KB), and each guest's disk
is a copy of it; undefining the guest removes its disk. A snapshot
(createImage) is ``qemu-img convert -O qcow2`` of that disk into
``<snapshot_dir>/<image id>.qcow2``, written aside and renamed once complete
(commands/server_images.py says how the image store takes it from there).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import threading
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlparse

import libvirt
import msgspec

from domain import migration_events as mev
from workers.hypervisor.live import Control, Report
from workers.hypervisor.port import (
    Disk,
    Guest,
    GuestError,
    GuestSpec,
    GuestState,
    HostUnavailable,
    NodeInfo,
    domain_name,
)

T = TypeVar("T")

_STATES = {
    libvirt.VIR_DOMAIN_RUNNING: GuestState.RUNNING,
    libvirt.VIR_DOMAIN_BLOCKED: GuestState.RUNNING,
    libvirt.VIR_DOMAIN_PAUSED: GuestState.PAUSED,
    libvirt.VIR_DOMAIN_PMSUSPENDED: GuestState.PAUSED,
}  # everything else (shutoff, shutdown, crashed, nostate) is "shutoff" (or
#    "suspended" when a managed save image exists)

_TRANSIENT_CODES = frozenset({
    libvirt.VIR_ERR_NO_CONNECT,
    libvirt.VIR_ERR_RPC,
    libvirt.VIR_ERR_OPERATION_TIMEOUT,
    libvirt.VIR_ERR_AGENT_UNRESPONSIVE,
    libvirt.VIR_ERR_AUTH_UNAVAILABLE,
})
_TRANSIENT_DOMAINS = frozenset({libvirt.VIR_FROM_RPC, libvirt.VIR_FROM_REMOTE})


def _domain(conn: libvirt.virConnect, instance_id: str) -> libvirt.virDomain | None:
    """The guest ``instance_id`` on ``conn``; None when the host has no such guest."""
    try:
        return conn.lookupByUUIDString(instance_id)
    except libvirt.libvirtError as error:
        if error.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
            return None
        raise


def _state_of(dom: libvirt.virDomain) -> GuestState:
    state = _STATES.get(dom.state()[0], GuestState.SHUTOFF)
    if state is GuestState.SHUTOFF and dom.hasManagedSaveImage(0):
        return GuestState.SUSPENDED
    return state


TEST_NAMESPACE = "http://libvirt.org/schemas/domain/test/1.0"  # the test driver's own
ET.register_namespace("test", TEST_NAMESPACE)


def empty_host_uri(directory: Path, host: str, *, vcpus: int | None = None,
                   memory_mb: int | None = None, keep_guests: bool = False) -> str:
    """A test-driver URI for a simulated host that starts with no guests.

    The test driver accepts a bare ``<node/>``: with no ``<domain>``,
    ``<network>`` or ``<pool>`` children the host is empty (the built-in
    ``test:///default`` has a guest named "test" and is shared per process).
    ``vcpus`` and ``memory_mb`` set what its node info (``getInfo``) reports.
    """
    path = (directory / f"{host}.xml").resolve()
    kept = ""
    guests = _kept_guests(path) if keep_guests else {}  # a restart, not a power loss
    kept = "".join(f"  {xml.strip()}\n" for xml in guests.values())
    _compact(path, guests)
    node = ""
    if vcpus is not None:
        node += (f"  <cpu><nodes>1</nodes><sockets>1</sockets><cores>{vcpus}</cores>"
                 f"<threads>1</threads><active>{vcpus}</active><mhz>2000</mhz>"
                 "<model>x86_64</model></cpu>\n")
    if memory_mb is not None:
        node += f"  <memory>{memory_mb * 1024}</memory>\n"
    path.write_text(f"<node>\n  <!-- simulated hypervisor host {host} -->\n{node}{kept}</node>\n")
    return f"test://{path}"


def _journal(host_file: Path) -> Path:
    """Where a test-driver host appends its guests' changes."""
    return host_file.with_name(f"{host_file.stem}-guests.jsonl")


class _Kept(msgspec.Struct, frozen=True):
    """One line of a host's journal: a guest as it is now (None: it is gone)."""

    id: str
    xml: str | None = None


def _kept_guests(host_file: Path) -> dict[str, str]:
    """The guests a test-driver host kept, by id: the last line of each in
    its journal (a line cut short by a crash is skipped), or, for a host kept
    before the journal existed, the domains inside its own file."""
    journal = _journal(host_file)
    if not journal.exists():
        if not host_file.exists():
            return {}
        return {d.findtext("uuid", ""): ET.tostring(d, encoding="unicode")
                for d in ET.parse(host_file).getroot().findall("domain")}
    guests: dict[str, str] = {}
    for line in journal.read_bytes().splitlines():
        try:
            kept = _decode_kept(line)
        except msgspec.DecodeError:
            continue
        if kept.xml is None:
            guests.pop(kept.id, None)
        else:
            guests[kept.id] = kept.xml
    return guests


def _compact(host_file: Path, guests: dict[str, str]) -> None:
    """Start the host's journal anew with just ``guests`` (at each start of the
    host, so it holds one line per guest plus the changes since)."""
    journal = _journal(host_file)
    temporary = journal.with_name(f".{journal.name}.tmp")
    temporary.write_bytes(b"".join(msgspec.json.encode(_Kept(i, xml)) + b"\n"
                                   for i, xml in guests.items()))
    temporary.replace(journal)


_decode_kept = msgspec.json.Decoder(_Kept).decode


def _host_file(uri: str) -> Path | None:
    """The file a test-driver host starts from (None: a real host, or the shared default)."""
    parsed = urlparse(uri)
    if parsed.scheme == "test" and parsed.path not in ("", "/default"):
        return Path(parsed.path)
    return None


def default_console_dir(uri: str) -> Path:
    """Next to a test host's file (``<dir>/<host>-consoles``), else a temp dir."""
    parsed = urlparse(uri)
    if parsed.scheme == "test" and parsed.path not in ("", "/default"):
        host_file = Path(parsed.path)
        return host_file.parent / f"{host_file.stem}-consoles"
    return Path(tempfile.gettempdir()) / "nimbus-consoles"


def default_disk_dir(uri: str, what: str = "disks") -> Path:
    """Next to a test host's file (``<dir>/<host>-disks``), else a temp dir."""
    host_file = _host_file(uri)
    if host_file is not None:
        return host_file.parent / f"{host_file.stem}-{what}"
    return Path(tempfile.gettempdir()) / f"nimbus-{what}"


def _root_disk_xml(path: Path) -> ET.Element:
    element = ET.Element("disk", type="file", device="disk")
    ET.SubElement(element, "driver", name="qemu", type="qcow2")
    ET.SubElement(element, "source", file=str(path))
    ET.SubElement(element, "target", dev="vda", bus="virtio")
    return element


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _disk_xml(disk: Disk) -> str:
    """A network disk on the volume's iSCSI LUN, as Nova's libvirt driver writes it."""
    element = ET.Element("disk", type="network", device="disk")
    ET.SubElement(element, "driver", name="qemu", type="raw", cache="none")
    source = ET.SubElement(element, "source", protocol="iscsi", name=f"{disk.iqn}/{disk.lun}")
    host, _, port = disk.portal.rpartition(":")
    ET.SubElement(source, "host", name=host, port=port)
    if disk.initiator:
        ET.SubElement(ET.SubElement(source, "initiator"), "iqn", name=disk.initiator)
    ET.SubElement(element, "target", dev=disk.device.removeprefix("/dev/"), bus="virtio")
    return ET.tostring(element, encoding="unicode")


def _ignore_libvirt_error(_context: object, _error: object) -> None:
    """libvirt prints every error to stderr by default; we raise them instead."""


class LibvirtHost:
    """A ``HypervisorHost`` on one libvirt connection (reopened after it is lost)."""

    def __init__(self, uri: str, console_dir: Path | None = None, *,
                 qemu_img: str = "qemu-img") -> None:
        libvirt.registerErrorHandler(_ignore_libvirt_error, None)
        self.uri = uri
        self.qemu_img = qemu_img
        self.disk_dir = default_disk_dir(uri).resolve()
        self.snapshot_dir = default_disk_dir(uri, "snapshots").resolve()
        self._templates = threading.Lock()
        self._domain_type = "test" if uri.startswith("test:") else "kvm"
        self.console_dir = (console_dir or default_console_dir(uri)).resolve()
        self.console_dir.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        # a disk change reads a definition and writes it back: an undefine in
        # between (a server's delete and its volume's detach arrive together)
        # would be undone, so definitions change one at a time
        self._definitions = threading.Lock()
        self._conn: libvirt.virConnect | None = None
        # a test-driver host keeps its guests in its file, as a real host keeps its
        # disks and definitions: the next process on it finds them as they were
        self._host_file = _host_file(uri)
        self._saving = threading.Lock()
        self._connection()

    @property
    def can_migrate(self) -> bool:
        """Whether this libvirt can live migrate (the test driver refuses ``migrateToURI3``)."""
        return self._domain_type != "test"

    def migrate_live(self, instance_id: str, dest_uri: str, *, bandwidth_mib: int, block: bool,
                     stats: Callable[[int, int, int], None], forced: Callable[[], bool],
                     aborted: Callable[[], bool], poll_seconds: float = 0.5) -> None:
        """``migrateToURI3`` with Nova's flags (live, peer to peer, persistent on
        the destination; the source's definition stays, inactive, for the
        cleanup step), polling the job's statistics while it runs: ``stats``
        gets (total, processed, remaining) memory bytes; ``forced`` pauses the
        guest (Nova's force_complete without post-copy), ``aborted`` aborts the job.
        Not reachable on the test driver: it needs two ``qemu:///system`` hosts."""
        dom = self._call(lambda conn: conn.lookupByUUIDString(instance_id))
        flags = (libvirt.VIR_MIGRATE_LIVE | libvirt.VIR_MIGRATE_PEER2PEER
                 | libvirt.VIR_MIGRATE_PERSIST_DEST)
        if block:
            flags |= libvirt.VIR_MIGRATE_NON_SHARED_INC
        params: dict[str, object] = {}
        if bandwidth_mib:
            params[libvirt.VIR_MIGRATE_PARAM_BANDWIDTH] = bandwidth_mib
        failure: list[BaseException] = []

        def migrate() -> None:
            try:
                dom.migrateToURI3(dest_uri, params, flags)
            except BaseException as error:  # reported below, in the caller's thread
                failure.append(error)

        mover = threading.Thread(target=migrate, name=f"migrate-{instance_id}", daemon=True)
        mover.start()
        paused = False
        while mover.is_alive():
            mover.join(poll_seconds)
            with contextlib.suppress(libvirt.libvirtError):
                job = dom.jobStats()
                stats(int(job.get("memory_total", 0)), int(job.get("memory_processed", 0)),
                      int(job.get("memory_remaining", 0)))
            if aborted():
                with contextlib.suppress(libvirt.libvirtError):
                    dom.abortJob()
            elif forced() and not paused:
                with contextlib.suppress(libvirt.libvirtError):
                    dom.suspend()
                    paused = True
        if failure:
            error = failure[0]
            raise GuestError(str(error)) from error

    def runs_at(self, uri: str, instance_id: str) -> bool:
        """Whether the guest runs on the host at ``uri`` (a live copy's end)."""
        try:
            conn = libvirt.open(uri)
        except libvirt.libvirtError as error:
            raise HostUnavailable(f"{uri}: {error}") from error
        try:
            dom = _domain(conn, instance_id)
            return dom is not None and _state_of(dom) is GuestState.RUNNING
        finally:
            conn.close()

    def define(self, spec: GuestSpec) -> None:
        disk = self._root_disk(spec.instance_id)
        if not disk.exists():
            shutil.copyfile(self._template(max(1, spec.disk_gb)), disk)
        xml = self._domain_xml(spec)
        self._call(lambda conn: conn.defineXML(xml))
        self._keep(spec.instance_id)
        self._note(spec.instance_id, f"defined {domain_name(spec.instance_id)} "
                   f"({spec.vcpus} vCPU, {spec.memory_mb} MiB)")
        self._note(spec.instance_id, f"root disk {disk.name} ({max(1, spec.disk_gb)} GiB)")

    def start(self, instance_id: str) -> None:
        restoring = self.state(instance_id) is GuestState.SUSPENDED
        self._on_domain(instance_id, lambda dom: dom.create())
        self._note(instance_id, "restored from managed save" if restoring else "started")

    def pause(self, instance_id: str) -> None:
        self._on_domain(instance_id, lambda dom: dom.suspend())
        self._note(instance_id, "paused")

    def resume(self, instance_id: str) -> None:
        self._on_domain(instance_id, lambda dom: dom.resume())
        self._note(instance_id, "unpaused")

    def reboot(self, instance_id: str) -> None:
        self._on_domain(instance_id, lambda dom: dom.reboot(0))
        self._note(instance_id, "rebooted")

    def save(self, instance_id: str) -> None:
        self._on_domain(instance_id, lambda dom: dom.managedSave(0))
        self._note(instance_id, "suspended (managed save)")

    def discard_saved(self, instance_id: str) -> None:
        self._on_domain(instance_id, lambda dom: dom.managedSaveRemove(0))
        self._note(instance_id, "managed save discarded")

    def destroy(self, instance_id: str) -> None:
        self._on_domain(instance_id, lambda dom: dom.destroy())
        self._note(instance_id, "powered off")

    def undefine(self, instance_id: str) -> None:
        flags = libvirt.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE
        with self._definitions:
            self._on_domain(instance_id, lambda dom: dom.undefineFlags(flags))
        self._console_path(instance_id).unlink(missing_ok=True)
        self._root_disk(instance_id).unlink(missing_ok=True)

    def snapshot(self, instance_id: str, image_id: str) -> str:
        final = self.snapshot_dir / f"{image_id}.qcow2"
        if final.exists():
            return str(final)
        if self.state(instance_id) is GuestState.ABSENT:
            raise GuestError(f"cannot snapshot guest {instance_id}: it does not exist")
        disk = self._root_disk(instance_id)
        if not disk.exists():
            raise GuestError(f"cannot snapshot guest {instance_id}: it has no root disk")
        self.snapshot_dir.mkdir(parents=True, exist_ok=True)
        for stale in self.snapshot_dir.glob(f".{image_id}.*.partial"):  # a try cut short
            stale.unlink(missing_ok=True)
        partial = self.snapshot_dir / f".{image_id}.{uuid.uuid4().hex}.partial"
        try:
            done = subprocess.run(
                [self.qemu_img, "convert", "-U", "-f", "qcow2", "-O", "qcow2", str(disk),
                 str(partial)], capture_output=True, text=True, check=False)
            if done.returncode != 0:
                raise GuestError(f"qemu-img convert of guest {instance_id}'s disk failed "
                                 f"(exit {done.returncode}): "
                                 f"{(done.stderr or done.stdout).strip()}")
            _fsync(partial)
            os.replace(partial, final)
            _fsync(self.snapshot_dir)
        except OSError as error:
            raise GuestError(f"cannot snapshot guest {instance_id}: {error}") from error
        finally:
            partial.unlink(missing_ok=True)
        self._note(instance_id, f"snapshot of its disk for image {image_id}")
        return str(final)

    def _root_disk(self, instance_id: str) -> Path:
        return self.disk_dir / f"{instance_id}.qcow2"

    def _template(self, gigabytes: int) -> Path:
        """The empty qcow2 of ``gigabytes`` every new guest's disk is a copy of
        (made once per size: the only ``qemu-img create``)."""
        template = self.disk_dir / f".empty-{gigabytes}G.qcow2"
        with self._templates:
            if template.exists():
                return template
            self.disk_dir.mkdir(parents=True, exist_ok=True)
            making = template.with_name(f"{template.name}.{uuid.uuid4().hex}.tmp")
            done = subprocess.run(
                [self.qemu_img, "create", "-q", "-f", "qcow2", str(making), f"{gigabytes}G"],
                capture_output=True, text=True, check=False)
            if done.returncode != 0:
                making.unlink(missing_ok=True)
                raise GuestError(f"qemu-img create failed: {done.stderr.strip()}")
            os.replace(making, template)
        return template

    def console(self, instance_id: str) -> str | None:
        path = self._console_path(instance_id)
        if self.state(instance_id) is GuestState.ABSENT:
            return None
        try:
            return path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def diagnostics(self, instance_id: str) -> dict[str, int] | None:
        def stats(conn: libvirt.virConnect) -> dict[str, int] | None:
            dom = _domain(conn, instance_id)
            if dom is None:
                return None
            _state, max_kib, kib, vcpus, cpu_ns = dom.info()
            found = {"memory": int(max_kib), "memory-actual": int(kib)}
            try:  # each vCPU's time where the driver keeps it, else the whole
                per_cpu = dom.vcpus()[0]
                found.update({f"cpu{v[0]}_time": int(v[2]) for v in per_cpu})
            except libvirt.libvirtError:
                found.update({f"cpu{n}_time": int(cpu_ns) // max(vcpus, 1)
                              for n in range(vcpus)})
            return found

        return self._call(stats)

    def state(self, instance_id: str) -> GuestState:
        def look(conn: libvirt.virConnect) -> GuestState:
            dom = _domain(conn, instance_id)
            return GuestState.ABSENT if dom is None else _state_of(dom)

        return self._call(look)

    def guests(self) -> list[Guest]:
        def listing(conn: libvirt.virConnect) -> list[Guest]:
            return sorted(
                (
                    Guest(
                        instance_id=dom.UUIDString(),
                        domain_name=dom.name(),
                        state=_state_of(dom),
                    )
                    for dom in conn.listAllDomains()
                    if dom.name() == domain_name(dom.UUIDString())
                ),
                key=lambda guest: guest.instance_id,
            )

        return self._call(listing)

    def power_loss(self) -> list[str]:
        def cut(conn: libvirt.virConnect) -> list[str]:
            were_on = []
            for dom in conn.listAllDomains():
                if dom.isActive():
                    dom.destroy()
                    were_on.append(dom.UUIDString())
                elif dom.hasManagedSaveImage(0):
                    dom.managedSaveRemove(0)
                    were_on.append(dom.UUIDString())
            return sorted(were_on)

        were_on = self._call(cut)
        for instance_id in were_on:
            self._keep(instance_id)
        for instance_id in were_on:
            self._note(instance_id, "power lost")
        return were_on

    def capacity(self) -> NodeInfo:
        """The host's CPUs and memory, from libvirt's node info."""

        def info(conn: libvirt.virConnect) -> NodeInfo:
            node = conn.getInfo()  # [model, memory MB, cpus, mhz, nodes, sockets, cores, threads]
            return NodeInfo(vcpus=int(node[2]), memory_mb=int(node[1]),
                            hypervisor_type=conn.getType(),
                            hypervisor_version=int(conn.getVersion()))

        return self._call(info)

    def attach_disk(self, instance_id: str, disk: Disk) -> None:
        """Hot-plug where the driver can; libvirt's test driver cannot, so there
        the disk goes into the guest's persistent definition (the guest has it
        from its next start, and the domain XML shows it at once)."""
        with self._definitions:
            self._attach_disk(instance_id, disk)

    def _attach_disk(self, instance_id: str, disk: Disk) -> None:
        if any(d.device == disk.device for d in self.disks(instance_id)):
            return
        xml = _disk_xml(disk)

        def plug(dom: libvirt.virDomain) -> None:
            flags = libvirt.VIR_DOMAIN_AFFECT_CONFIG
            if dom.isActive():
                flags |= libvirt.VIR_DOMAIN_AFFECT_LIVE
            try:
                dom.attachDeviceFlags(xml, flags)
            except libvirt.libvirtError as error:
                if error.get_error_code() != libvirt.VIR_ERR_NO_SUPPORT:
                    raise
                self._redefine(dom, lambda devices: devices.append(ET.fromstring(xml)))

        self._on_domain(instance_id, plug)
        self._note(instance_id, f"attached {disk.iqn} lun {disk.lun} as {disk.device}")

    def detach_disk(self, instance_id: str, device: str) -> None:
        with self._definitions:
            self._detach_disk(instance_id, device)

    def _detach_disk(self, instance_id: str, device: str) -> None:
        found = next((d for d in self.disks(instance_id) if d.device == device), None)
        if found is None:
            return
        xml = _disk_xml(found)

        def unplug(dom: libvirt.virDomain) -> None:
            flags = libvirt.VIR_DOMAIN_AFFECT_CONFIG
            if dom.isActive():
                flags |= libvirt.VIR_DOMAIN_AFFECT_LIVE
            try:
                dom.detachDeviceFlags(xml, flags)
            except libvirt.libvirtError as error:
                if error.get_error_code() != libvirt.VIR_ERR_NO_SUPPORT:
                    raise

                def drop(devices: ET.Element) -> None:
                    for disk in devices.findall("disk"):
                        target = disk.find("target")
                        if target is not None and f"/dev/{target.get('dev')}" == device:
                            devices.remove(disk)

                self._redefine(dom, drop)

        self._on_domain(instance_id, unplug)
        self._note(instance_id, f"detached {device}")

    def disks(self, instance_id: str) -> list[Disk]:
        """The iSCSI disks in the guest's persistent definition (none when
        there is no guest: a deleted guest's disks went with it)."""
        def read(conn: libvirt.virConnect) -> str | None:
            dom = _domain(conn, instance_id)
            return None if dom is None else str(dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))

        xml = self._call(read)
        if xml is None:
            return []
        root = ET.fromstring(xml)
        found = []
        for disk in root.iter("disk"):
            source, target = disk.find("source"), disk.find("target")
            host = source.find("host") if source is not None else None
            if source is None or target is None or host is None:
                continue
            iqn, _, lun = (source.get("name") or "").rpartition("/")
            initiator = source.find("initiator/iqn")
            found.append(Disk(device=f"/dev/{target.get('dev')}", iqn=iqn, lun=int(lun or 0),
                              portal=f"{host.get('name')}:{host.get('port')}",
                              initiator=None if initiator is None else initiator.get("name")))
        return found

    def _redefine(self, dom: libvirt.virDomain,
                  change: Callable[[ET.Element], None]) -> None:
        root = ET.fromstring(dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))
        devices = root.find("devices")
        if devices is None:
            devices = ET.SubElement(root, "devices")
        change(devices)
        dom.connect().defineXML(ET.tostring(root, encoding="unicode"))

    def close(self) -> None:
        with self._lock:
            conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()

    def _domain_xml(self, spec: GuestSpec) -> str:
        domain = ET.Element("domain", type=self._domain_type)
        ET.SubElement(domain, "name").text = domain_name(spec.instance_id)
        ET.SubElement(domain, "uuid").text = spec.instance_id
        ET.SubElement(domain, "title").text = spec.name
        ET.SubElement(domain, "memory", unit="MiB").text = str(spec.memory_mb)
        ET.SubElement(domain, "vcpu").text = str(spec.vcpus)
        os_ = ET.SubElement(domain, "os")
        ET.SubElement(os_, "type").text = "hvm"
        devices = ET.SubElement(domain, "devices")
        devices.append(_root_disk_xml(self._root_disk(spec.instance_id)))
        log = str(self._console_path(spec.instance_id))
        serial = ET.SubElement(devices, "serial", type="file")
        ET.SubElement(serial, "source", path=log)
        ET.SubElement(serial, "target", port="0")
        console = ET.SubElement(devices, "console", type="file")
        ET.SubElement(console, "source", path=log)
        ET.SubElement(console, "target", type="serial", port="0")
        for mac, bridge, device in spec.nics:  # the network host makes the bridge
            interface = ET.SubElement(devices, "interface", type="bridge")
            ET.SubElement(interface, "mac", address=mac)
            ET.SubElement(interface, "source", bridge=bridge)
            ET.SubElement(interface, "target", dev=device)
            ET.SubElement(interface, "model", type="virtio")
        return ET.tostring(domain, encoding="unicode")

    def _console_path(self, instance_id: str) -> Path:
        return self.console_dir / f"{domain_name(instance_id)}.log"

    def _note(self, instance_id: str, line: str) -> None:
        """On the test driver (no guest, no console), log the lifecycle step instead."""
        if self._domain_type != "test":
            return
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        with self._console_path(instance_id).open("a") as log:
            log.write(f"[{stamp}] nimbus-hypervisor: {line}\n")

    def _on_domain(self, instance_id: str, action: Callable[[libvirt.virDomain], object]) -> None:
        self._call(lambda conn: action(conn.lookupByUUIDString(instance_id)))
        self._keep(instance_id)

    def _keep(self, instance_id: str) -> None:
        """Append a test-driver guest as it is now (its definition, run state and
        managed save; or that it is gone) to the host's journal, so the host's
        next process finds it so."""
        if self._host_file is None:
            return

        def kept(conn: libvirt.virConnect) -> str | None:
            dom = _domain(conn, instance_id)
            if dom is None:
                return None
            element = ET.fromstring(dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))
            ET.SubElement(element, f"{{{TEST_NAMESPACE}}}runstate").text = str(dom.state()[0])
            if dom.hasManagedSaveImage(0):
                ET.SubElement(element, f"{{{TEST_NAMESPACE}}}hasmanagedsave").text = "yes"
            return ET.tostring(element, encoding="unicode")

        with self._saving:
            line = msgspec.json.encode(_Kept(instance_id, self._call(kept))) + b"\n"
            with _journal(self._host_file).open("ab") as journal:
                journal.write(line)

    def _call(self, action: Callable[[libvirt.virConnect], T]) -> T:
        conn = self._connection()
        try:
            return action(conn)
        except libvirt.libvirtError as error:
            if self._is_transient(error, conn):
                self._forget(conn)
                raise HostUnavailable(f"{self.uri}: {error}") from error
            raise GuestError(str(error)) from error

    def _connection(self) -> libvirt.virConnect:
        with self._lock:
            if self._conn is None:
                try:
                    self._conn = libvirt.open(self.uri)
                except libvirt.libvirtError as error:
                    raise HostUnavailable(f"{self.uri}: {error}") from error
            return self._conn

    def _forget(self, conn: libvirt.virConnect) -> None:
        with self._lock:
            if self._conn is conn:
                self._conn = None
        with contextlib.suppress(libvirt.libvirtError):  # already broken
            conn.close()

    @staticmethod
    def _is_transient(error: libvirt.libvirtError, conn: libvirt.virConnect) -> bool:
        if error.get_error_code() in _TRANSIENT_CODES:
            return True
        if error.get_error_domain() in _TRANSIENT_DOMAINS:
            return True
        try:
            return not conn.isAlive()
        except libvirt.libvirtError:
            return True


class LibvirtCopy:
    """A live migration's copy on ``qemu:///system``: ``migrateToURI3`` to the
    destination host's libvirt (``qemu+tcp://<host>/system``, Nova's
    ``live_migration_uri`` default), its job statistics as the progress."""

    URI = "qemu+tcp://{}/system"

    def __init__(self, host: LibvirtHost) -> None:
        self.host = host

    def copied(self, instance_id: str, request: mev.InstanceLiveMigrationRunRequested) -> bool:
        return self.host.runs_at(self.URI.format(request.dest_host), instance_id)

    def copy(self, instance_id: str, request: mev.InstanceLiveMigrationRunRequested,
             report: Report, control: Control) -> None:
        def stats(total: int, processed: int, remaining: int) -> None:
            report(mev.Progress(memory_total_bytes=total, memory_processed_bytes=processed,
                                memory_remaining_bytes=remaining))

        self.host.migrate_live(
            instance_id, self.URI.format(request.dest_host),
            bandwidth_mib=request.bandwidth_mbps, block=False, stats=stats,
            forced=lambda: bool(control.forced[0]) or request.forced,
            aborted=control.aborted.is_set)
