"""The iSCSI names nimbus gives, for both ends of an attachment.

A storage host exports a volume as a target named for the volume and lets in
one initiator, named for the compute host the volume is attached to; that
compute host's hypervisor connects with the same name. Both workers must
agree on the scheme (nova-volume's), so it is written once, here, where the
storage and the hypervisor workers can both read it without importing each
other.
"""

from __future__ import annotations

from typing import Final

VOLUME_IQN_PREFIX: Final = "iqn.2010-10.org.openstack:volume-"


def iqn_for(volume_id: str) -> str:
    """The iSCSI target name of a volume, as in nova-volume."""
    return f"{VOLUME_IQN_PREFIX}{volume_id}"


def initiator_for(compute_host: str) -> str:
    """The iSCSI initiator name a compute host connects with: the one name a
    volume's export lets in (its ACL) while the volume is attached there."""
    return f"iqn.2010-10.org.openstack:initiator-{compute_host}"
