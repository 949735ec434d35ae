"""The exporter on tgt, the userspace iSCSI target daemon that nova-volume drove.

Every call is one ``tgtadm -C <control port> --lld iscsi ...`` (no shell) to
the tgtd listening on that control port. A volume's target is found by its
IQN in ``--op show --mode target``; a new target takes the highest target id
plus one, gets LUN 1 backed by the volume's file or block device, and an ACL
for the initiator's IQN (``ALL`` when any initiator may log in). LUN 0 is
tgt's own controller. When tgtadm cannot reach the daemon the call raises
``StorageUnavailable``; anything tgtd refuses is a ``StorageError``.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess

import msgspec

from workers.iscsi import VOLUME_IQN_PREFIX, iqn_for
from workers.storage.port import (
    StorageError,
    StorageUnavailable,
    VolumeExport,
    checked_id,
)

LUN = 1
_UNREACHABLE = ("tgt daemon", "tgtd closed the socket", "can't create a socket")
_TARGET_LINE = re.compile(r"Target (\d+): (\S+)")
_NAME_PREFIXES = ("iqn.", "eui.", "naa.")  # an ACL naming an initiator, not an address


class TgtTarget(msgspec.Struct, frozen=True, kw_only=True):
    """One target as ``tgtadm --op show --mode target`` lists it."""

    tid: int
    iqn: str
    luns: dict[int, str]  # LUN -> backing store path ("None" for the controller)
    acls: list[str]  # initiator IQNs and addresses ("ALL")


def tgtadm(control_port: int, *args: str) -> str:
    """Run one tgtadm request against the tgtd on ``control_port``; its output."""
    try:
        done = subprocess.run(["tgtadm", "-C", str(control_port), *args],
                              capture_output=True, text=True, check=False, timeout=30)
    except FileNotFoundError as error:
        raise StorageUnavailable("tgtadm is not installed") from error
    except subprocess.TimeoutExpired as error:
        raise StorageUnavailable(f"tgtd on control port {control_port} does not answer") from error
    if done.returncode != 0:
        message = done.stderr.strip().removeprefix("tgtadm: ")
        if any(text in message for text in _UNREACHABLE):
            raise StorageUnavailable(f"tgtd on control port {control_port}: {message}")
        raise StorageError(f"tgtadm {' '.join(args)}: {message}")
    return done.stdout


def parse_targets(text: str) -> list[TgtTarget]:
    """The targets in the output of ``tgtadm --op show --mode target``."""
    found: list[TgtTarget] = []
    current: TgtTarget | None = None
    section = ""
    lun: int | None = None
    for line in text.splitlines():
        stripped = line.strip()
        indent = len(line) - len(line.lstrip(" "))
        heading = _TARGET_LINE.fullmatch(line)
        if heading:
            current = TgtTarget(tid=int(heading[1]), iqn=heading[2], luns={}, acls=[])
            found.append(current)
            section, lun = "", None
        elif current is None or not stripped:
            continue
        elif indent == 4:
            section = stripped.rstrip(":")
        elif section == "LUN information" and indent == 8 and stripped.startswith("LUN:"):
            lun = int(stripped.removeprefix("LUN:"))
            current.luns[lun] = ""
        elif section == "LUN information" and stripped.startswith("Backing store path:"):
            if lun is not None:
                current.luns[lun] = stripped.removeprefix("Backing store path:").strip()
        elif section == "ACL information" and indent == 8:
            current.acls.append(stripped)
    return found


def targets(control_port: int) -> list[TgtTarget]:
    return parse_targets(tgtadm(control_port, "--lld", "iscsi", "--op", "show", "--mode", "target"))


class TgtExporter:
    """An ``Exporter`` on the tgtd at ``control_port``, reachable by initiators at ``portal``."""

    def __init__(self, control_port: int = 0, portal: str = "127.0.0.1:3260") -> None:
        self.control_port = control_port
        self.portal = portal

    def export(self, volume_id: str, path: str, initiator: str | None) -> VolumeExport:
        iqn = iqn_for(checked_id(volume_id))
        path = os.path.abspath(path)  # tgtd resolves paths against its own directory
        if not os.path.exists(path):
            raise StorageError(f"cannot export volume {volume_id}: {path} does not exist")
        target, created = self._target(iqn)
        try:
            backing = target.luns.get(LUN)
            if backing is None:
                self._tgtadm("--op", "new", "--mode", "logicalunit", "--tid", str(target.tid),
                             "--lun", str(LUN), "-b", path)
            elif backing != path:
                raise StorageError(f"{iqn} already exports {backing}, not {path}")
            acl = initiator or "ALL"
            if acl not in target.acls:
                self._tgtadm("--op", "bind", "--mode", "target", "--tid", str(target.tid),
                             *_acl_option(acl))
        except BaseException:
            if created:  # leave nothing half-made behind
                with contextlib.suppress(StorageError, StorageUnavailable):
                    self._delete_target(target.tid)
            raise
        return VolumeExport(portal=self.portal, iqn=iqn, lun=LUN)

    def unexport(self, volume_id: str) -> None:
        iqn = iqn_for(checked_id(volume_id))
        target = self._find(iqn)
        if target is None:
            return
        tid = str(target.tid)
        with contextlib.suppress(StorageError):  # already gone; delete --force covers the rest
            for acl in target.acls:
                self._tgtadm("--op", "unbind", "--mode", "target", "--tid", tid, *_acl_option(acl))
            if LUN in target.luns:
                self._tgtadm("--op", "delete", "--mode", "logicalunit", "--tid", tid,
                             "--lun", str(LUN))
        try:
            self._delete_target(target.tid)
        except StorageError:
            if self._find(iqn) is not None:
                raise

    def exports(self) -> list[str]:
        return sorted(
            target.iqn.removeprefix(VOLUME_IQN_PREFIX)
            for target in targets(self.control_port)
            if target.iqn.startswith(VOLUME_IQN_PREFIX)
        )

    def _target(self, iqn: str) -> tuple[TgtTarget, bool]:
        """The volume's target, made when missing; True when this call made it."""
        for _attempt in range(10):
            existing = targets(self.control_port)
            for target in existing:
                if target.iqn == iqn:
                    return target, False
            tid = max((target.tid for target in existing), default=0) + 1
            try:
                self._tgtadm("--op", "new", "--mode", "target", "--tid", str(tid), "-T", iqn)
            except StorageError:
                if any(t.tid == tid or t.iqn == iqn for t in targets(self.control_port)):
                    continue  # another exporter took that id (or made this target): look again
                raise
            return TgtTarget(tid=tid, iqn=iqn, luns={}, acls=[]), True
        raise StorageUnavailable(f"cannot create target {iqn}: target ids keep being taken")

    def _find(self, iqn: str) -> TgtTarget | None:
        return next((t for t in targets(self.control_port) if t.iqn == iqn), None)

    def _delete_target(self, tid: int) -> None:
        self._tgtadm("--op", "delete", "--mode", "target", "--tid", str(tid), "--force")

    def _tgtadm(self, *args: str) -> str:
        return tgtadm(self.control_port, "--lld", "iscsi", *args)


def _acl_option(acl: str) -> tuple[str, str]:
    """tgt binds initiator names with ``-Q`` and addresses (or ``ALL``) with ``-I``."""
    return ("-Q", acl) if acl.startswith(_NAME_PREFIXES) else ("-I", acl)
