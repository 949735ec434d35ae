"""``nimbus image list|upload``: the images servers boot from, from a shell.

``upload`` is Glance v2's two steps, as ``openstack image create --file``
takes them: create the image (``queued``), then ``PUT .../file`` with the
file's bytes streamed in chunks, counted by a byte progress bar (rate and
time left: runtime/progress.py), then poll until the image is ``active``.
The file is read as it is sent, never whole into memory. ``--json`` prints
the image and the upload's counts as one object; a missing file, a refused
upload or an image that does not become active is one line and exit 1.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from runtime.api_client import ApiError, NimbusClient
from runtime.cli_servers import common_options, print_json, with_client
from runtime.cli_waits import until_settled
from runtime.progress import Progress, Waiting
from runtime.tables import format_fields, format_table

CHUNK_BYTES = 1024 * 1024
BUSY = frozenset({"queued", "saving", "importing", "uploading"})
SHOWN = ("id", "name", "status", "disk_format", "container_format", "size", "checksum",
         "os_hash_algo", "os_hash_value", "visibility", "owner", "created_at")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    common = common_options()
    image = subparsers.add_parser("image", help="the images servers can be booted from")
    commands = image.add_subparsers(dest="image_command", metavar="COMMAND", required=True)
    p = commands.add_parser("list", parents=[common], help="list images")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=with_client(_list_images))

    p = commands.add_parser("upload", parents=[common],
                            help="create an image from a local file and upload its data")
    p.add_argument("file", type=Path, help="the image file (qcow2, raw, ...)")
    p.add_argument("--name", required=True, help="the new image's name")
    p.add_argument("--disk-format", default="qcow2", help="default: qcow2")
    p.add_argument("--container-format", default="bare", help="default: bare")
    p.add_argument("--json", action="store_true",
                   help="print the image and the upload's counts as JSON (no progress)")
    p.set_defaults(func=with_client(_upload))


def _list_images(client: NimbusClient, args: argparse.Namespace) -> int:
    images = client.images()
    if args.json:
        return print_json(images)
    rows = [
        (i.get("id"), i.get("name"), i.get("status"), i.get("disk_format"), i.get("size"),
         i.get("visibility"))
        for i in images
    ]
    print(format_table(("ID", "Name", "Status", "Format", "Size", "Visibility"), rows))
    return 0


def _chunks(f: BinaryIO, progress: Progress) -> Iterator[bytes]:
    while chunk := f.read(CHUNK_BYTES):
        yield chunk
        progress.advance(len(chunk))


def _upload(client: NimbusClient, args: argparse.Namespace) -> int:
    path: Path = args.file
    if not path.is_file():
        raise ApiError(None, f"no image file at {path}")
    size = path.stat().st_size
    created = client.call("image", "POST", "/images", json={
        "name": args.name, "disk_format": args.disk_format,
        "container_format": args.container_format})
    image_id = str(created["id"])
    try:
        with path.open("rb") as f, Progress(f"uploading {path.name}", size, "bytes",
                                            quiet=args.json) as progress:
            client.put_file("image", f"/images/{image_id}/file", _chunks(f, progress), size)
    except ApiError as exc:
        raise ApiError(exc.status, f"image {image_id}: the upload failed: {exc.message}"
                       ) from None
    progress.finish()
    with Waiting(f"image {image_id}", quiet=args.json) as waiting:
        image = until_settled(client, waiting, "image", f"/images/{image_id}", "", BUSY)
    waiting.finish()
    if args.json:
        print_json({"image": image, "upload": progress.as_json(),
                    "wait": waiting.as_json()})
    else:
        print(format_fields([(k, image.get(k)) for k in SHOWN if k in image]))
    if image.get("status") != "active":
        print(f"nimbus: error: image {image_id} is {image.get('status')}, not active",
              file=sys.stderr)
        return 1
    return 0
