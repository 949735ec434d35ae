"""What the metadata service tells a guest about itself, in the two layouts
guests ask for: OpenStack's (``/openstack/<version>/meta_data.json``, as
cloud-init and config drives read it) and EC2's (``/<version>/meta-data/...``).

Built from the instance's view only: its name, zone, launch index, metadata,
the public key of its keypair and its user data, all recorded at boot.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from projections.queries import InstanceView

OPENSTACK_VERSIONS = ("2012-08-10", "2013-04-04", "2013-10-17", "2015-10-15", "2016-06-30",
                      "2016-10-06", "2017-02-22", "2018-08-27", "2020-10-14", "latest")
EC2_VERSIONS = ("1.0", "2007-01-19", "2007-03-01", "2007-08-29", "2007-10-10", "2007-12-15",
                "2008-02-01", "2008-09-01", "2009-04-04", "latest")
OPENSTACK_FILES = ("meta_data.json", "network_data.json", "user_data", "vendor_data.json",
                   "vendor_data2.json")


def hostname(instance: InstanceView) -> str:
    """Nova's: the display name made a DNS label, in the ``novalocal`` domain."""
    label = "".join(c if c.isalnum() or c == "-" else "-" for c in instance.name.lower())
    return f"{label.strip('-') or 'server-' + str(instance.id)[:8]}.novalocal"


def user_data(instance: InstanceView) -> bytes | None:
    """The user data as the guest gets it: decoded from the base64 it was sent as."""
    if instance.user_data is None:
        return None
    try:
        return base64.b64decode(instance.user_data, validate=True)
    except (binascii.Error, ValueError):
        return instance.user_data.encode()


def meta_data(instance: InstanceView) -> dict[str, Any]:
    """``meta_data.json``."""
    document: dict[str, Any] = {
        "uuid": str(instance.id), "name": instance.name, "hostname": hostname(instance),
        "launch_index": instance.launch_index,
        "availability_zone": instance.availability_zone,
        "project_id": instance.project_id, "meta": dict(instance.metadata), "devices": [],
    }
    if instance.key_name and instance.public_key:
        document["public_keys"] = {instance.key_name: instance.public_key}
        document["keys"] = [{"name": instance.key_name, "type": "ssh",
                             "data": instance.public_key}]
    return document


def ec2_meta_data(instance: InstanceView, local_ipv4: str = "",
                  public_ipv4: str = "") -> dict[str, Any]:
    """EC2's ``meta-data`` tree; a dict is a directory, a string a file."""
    tree: dict[str, Any] = {
        "ami-id": instance.image_ref, "ami-launch-index": str(instance.launch_index),
        "hostname": hostname(instance), "local-hostname": hostname(instance),
        "instance-id": f"i-{instance.id.int % 16**8:08x}",
        "instance-type": instance.flavor_id, "local-ipv4": local_ipv4,
        "public-ipv4": public_ipv4, "reservation-id": instance.reservation_id,
        "placement": {"availability-zone": instance.availability_zone},
        "security-groups": "default",
    }
    if instance.key_name and instance.public_key:
        tree["public-keys"] = {f"0={instance.key_name}": {"openssh-key": instance.public_key}}
    return tree


def ec2_path(tree: dict[str, Any], parts: list[str]) -> str | None:
    """The text at ``parts`` of an EC2 tree: a file's contents, or a directory's
    listing (subdirectories with a trailing slash); None where nothing is."""
    node: Any = tree
    for part in parts:
        if not isinstance(node, dict):
            return None
        if part in node:
            node = node[part]
            continue
        # public-keys/0/... is reached by the index before the "=" of its name
        matched = [k for k in node if k.split("=", 1)[0] == part]
        if not matched:
            return None
        node = node[matched[0]]
    if isinstance(node, dict):  # EC2 lists "0=name" of public-keys without a slash
        return "\n".join(f"{k}/" if isinstance(v, dict) and "=" not in k else k
                         for k, v in node.items())
    return str(node)
