"""The exporter on LIO, the kernel's iSCSI target, through rtslib-fb (production).

The only module that imports ``rtslib_fb``. A volume becomes a storage
object named ``volume-<id>`` (block backstore for a block device such as an
LV, fileio for a file), the target ``iqn_for(id)`` with TPG 1 enabled, a
network portal, and LUN 1. An initiator IQN gets a node ACL with mapped
LUN 1; with none, the TPG generates ACLs for any initiator (demo mode,
writable, no CHAP). What this call made is removed again if a later step
fails. rtslib refusals are ``StorageError``; OS errors from configfs are
``StorageUnavailable``.

LIO lives in the kernel (configfs under ``/sys/kernel/config/target``);
``lio_probe`` says why it cannot run on a host (tests skip with that reason).
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import rtslib_fb

from workers.iscsi import VOLUME_IQN_PREFIX, iqn_for
from workers.storage.port import (
    StorageError,
    StorageUnavailable,
    VolumeExport,
    checked_id,
)

CONFIGFS_TARGET = Path("/sys/kernel/config/target")
LUN = 1
TPG_TAG = 1


def lio_probe() -> str | None:
    """None when LIO can run here; else why it cannot."""
    if not CONFIGFS_TARGET.is_dir():
        return ("LIO cannot run here: this kernel has no configfs/LIO target "
                f"({CONFIGFS_TARGET} is missing)")
    return None


class LioExporter:
    """An ``Exporter`` on the kernel target; initiators reach it at ``portal``."""

    def __init__(self, portal: str = "127.0.0.1:3260") -> None:
        address, _, port = portal.rpartition(":")
        self.portal = portal
        self._address = address
        self._port = int(port)

    def export(self, volume_id: str, path: str, initiator: str | None) -> VolumeExport:
        iqn = iqn_for(checked_id(volume_id))
        path = os.path.abspath(path)
        if not os.path.exists(path):
            raise StorageError(f"cannot export volume {volume_id}: {path} does not exist")
        made: list[Any] = []  # what this call created, newest last
        with _translated():
            try:
                root = rtslib_fb.RTSRoot()
                storage = self._storage_object(root, f"volume-{volume_id}", path, made)
                target = _find_target(root, iqn)
                if target is None:
                    target = rtslib_fb.Target(rtslib_fb.FabricModule("iscsi"), iqn, mode="create")
                    made.append(target)
                tpg = rtslib_fb.TPG(target, TPG_TAG, mode="any")
                rtslib_fb.NetworkPortal(tpg, self._address, self._port, mode="any")
                lun = next((lun for lun in tpg.luns if lun.lun == LUN), None)
                if lun is None:
                    lun = rtslib_fb.LUN(tpg, LUN, storage)
                tpg.set_attribute("authentication", "0")
                if initiator is None:
                    tpg.set_attribute("generate_node_acls", "1")
                    tpg.set_attribute("cache_dynamic_acls", "1")
                    tpg.set_attribute("demo_mode_write_protect", "0")
                else:
                    acl = rtslib_fb.NodeACL(tpg, initiator, mode="any")
                    if not any(mapped.mapped_lun == LUN for mapped in acl.mapped_luns):
                        rtslib_fb.MappedLUN(acl, LUN, tpg_lun=lun)
                tpg.enable = True
            except BaseException:
                for thing in reversed(made):
                    with contextlib.suppress(rtslib_fb.RTSLibError, OSError):
                        thing.delete()
                raise
        return VolumeExport(portal=self.portal, iqn=iqn, lun=LUN)

    def unexport(self, volume_id: str) -> None:
        iqn = iqn_for(checked_id(volume_id))
        with _translated():
            root = rtslib_fb.RTSRoot()
            target = _find_target(root, iqn)
            if target is not None:
                target.delete()  # its TPGs, portals, LUNs and ACLs with it
            for storage in list(root.storage_objects):
                if storage.name == f"volume-{volume_id}":
                    storage.delete()

    def exports(self) -> list[str]:
        with _translated():
            root = rtslib_fb.RTSRoot()
            return sorted(
                str(target.wwn).removeprefix(VOLUME_IQN_PREFIX)
                for target in root.targets
                if target.fabric_module.name == "iscsi"
                and str(target.wwn).startswith(VOLUME_IQN_PREFIX)
            )

    @staticmethod
    def _storage_object(root: Any, name: str, path: str, made: list[Any]) -> Any:
        for storage in root.storage_objects:
            if storage.name == name and storage.plugin in ("block", "fileio"):
                if storage.udev_path != path:
                    raise StorageError(f"{name} already serves {storage.udev_path}, not {path}")
                return storage
        if stat.S_ISBLK(os.stat(path).st_mode):
            storage = rtslib_fb.BlockStorageObject(name, dev=path)
        else:
            storage = rtslib_fb.FileIOStorageObject(name, dev=path, size=os.path.getsize(path))
        made.append(storage)
        return storage


def _find_target(root: Any, iqn: str) -> Any:
    for target in root.targets:
        if target.fabric_module.name == "iscsi" and target.wwn == iqn:
            return target
    return None


@contextlib.contextmanager
def _translated() -> Iterator[None]:
    try:
        yield
    except rtslib_fb.RTSLibError as error:
        raise StorageError(f"LIO: {error}") from error
    except OSError as error:
        raise StorageUnavailable(f"LIO: {error}") from error
