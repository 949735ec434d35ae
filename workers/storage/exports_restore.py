"""A storage host's exports brought back in line with the log.

Why this exists: the seed's disaster is a power loss of the SAN. Its iSCSI
sessions are gone and so are its targets (a restarted tgtd starts with
none), while the log still says the volumes are in use; the bytes are still
there. The storage worker knows from the log (workers/volume_fold.py) which
volumes it should export and to which compute host's initiator; these
functions compare that with what the exporter serves and export what is
missing, as the attach did (same target name, LUN and initiator ACL).
Nothing here removes an export. A dry run only says what it would do.
``power_off`` is the simulated power loss itself: every export dropped
(their sessions with them), the bytes kept.
"""

from __future__ import annotations

import logging

from domain.volume import Volume
from workers.iscsi import initiator_for
from workers.storage.port import Backing, Exporter, StorageError, StorageUnavailable

log = logging.getLogger(__name__)


def restore_exports(backing: Backing, exporter: Exporter, volumes: list[Volume], *,
                    dry_run: bool) -> list[str]:
    """Export each of ``volumes`` (those the log says this host exports) that
    the exporter does not serve; one line per export made (or, dry, to make),
    or per export that could not be made and why."""
    serving = set(exporter.exports())
    changes = []
    for volume in volumes:
        if volume.id in serving:
            continue
        if not backing.exists(volume.id):
            changes.append(f"cannot export volume {volume.id} again: its bytes are not on"
                           " this host")
            continue
        assert volume.compute_host is not None  # exported() holds for it
        line = (f"export volume {volume.id} again to {volume.compute_host}"
                f" (server {volume.server_id}, {volume.device})")
        if not dry_run:
            try:
                made = exporter.export(volume.id, backing.path(volume.id),
                                       initiator_for(volume.compute_host))
            except (StorageError, StorageUnavailable) as error:
                changes.append(f"cannot export volume {volume.id} again: {error}")
                continue
            if made.portal != volume.portal:
                line += f"; it is at {made.portal} now, not {volume.portal} as recorded"
            log.warning("%s", line)
        changes.append(line)
    return changes


def power_off(exporter: Exporter) -> list[str]:
    """Every export gone, as when the SAN lost power; the volumes it served."""
    lost = exporter.exports()
    for volume_id in lost:
        exporter.unexport(volume_id)
    return lost
