"""``python -m bench.snapshots``: how long createImage takes, next to a direct
``qemu-img convert`` of the same disk in the same run.

Why: a snapshot's bytes are the host's ``qemu-img convert -O qcow2`` of the
guest's disk; everything else (the request and its image in one commit, the
relay, the worker, the ingester reading the copy once for its checksums and
linking it into the image store, three more commits, the views) is nimbus's
overhead over that one copy. So the figure is the two, side by side: the
time from ``POST createImage`` until the image shows ``active``, and the time
of the convert alone, each the median of ``--count`` runs on a disk holding
``--size-mb`` MiB of written data. Figures mean something only on an
otherwise idle machine.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import httpx

from bench.place import place
from bench.stack import Stacks
from tests.support.stack import auth_body

IMAGE = "cirros-0.6.2-x86_64-disk"
C = "/compute/v2.1"


def _wait(http: httpx.Client, url: str, key: str | None, field: str, wanted: str | None,
          timeout: float = 300.0) -> None:
    """Poll ``url`` until its ``key`` object's ``field`` is ``wanted``."""
    deadline = time.perf_counter() + timeout
    while True:
        r = http.get(url)
        body = r.json() if r.status_code == 200 else {}
        shown = body.get(key, {}) if key else body
        if field in shown and shown[field] == wanted:
            return
        if time.perf_counter() > deadline:
            raise RuntimeError(f"{url} never showed {field} {wanted}: {r.text[:300]}")
        time.sleep(0.02)


def fill(disk: Path, size_mb: int) -> None:
    """Make the guest's disk hold ``size_mb`` MiB of written (random) data."""
    with tempfile.NamedTemporaryFile(dir=disk.parent, suffix=".raw") as raw:
        for _ in range(size_mb):
            raw.write(os.urandom(1 << 20))
        raw.flush()
        subprocess.run(["qemu-img", "convert", "-f", "raw", "-O", "qcow2", raw.name,
                        str(disk)], check=True)


def direct(disk: Path) -> float:
    """One ``qemu-img convert -O qcow2`` of the disk, as the host runs it; seconds."""
    with tempfile.TemporaryDirectory(dir=disk.parent) as scratch:
        started = time.perf_counter()
        subprocess.run(["qemu-img", "convert", "-U", "-f", "qcow2", "-O", "qcow2", str(disk),
                        str(Path(scratch) / "copy.qcow2")], check=True)
        return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.snapshots", description=__doc__)
    parser.add_argument("--count", type=int, default=5, help="snapshots (and converts) timed")
    parser.add_argument("--size-mb", type=int, default=64, help="data written on the disk")
    args = parser.parse_args(argv)
    with place() as at:
        stacks = Stacks(at, servers=1)
        with stacks.up() as stack, httpx.Client(base_url=stack.base_url, timeout=60) as http:
            r = http.post("/identity/v3/auth/tokens",
                          json=auth_body("admin", stack.admin_password, "admin"))
            http.headers["X-Auth-Token"] = r.headers["X-Subject-Token"]
            r = http.post(f"{C}/servers", json={"server": {
                "name": "bench-snapshot", "imageRef": IMAGE, "flavorRef": "1"}})
            server_id = r.json()["server"]["id"]
            _wait(http, f"{C}/servers/{server_id}", "server", "status", "ACTIVE")
            host = http.get(f"{C}/servers/{server_id}").json()["server"][
                "OS-EXT-SRV-ATTR:host"]
            disk = at.state_dir / "hosts" / f"{host}-disks" / f"{server_id}.qcow2"
            fill(disk, args.size_mb)
            snapshots, converts, sizes = [], [], []
            for number in range(args.count):
                started = time.perf_counter()
                r = http.post(f"{C}/servers/{server_id}/action",
                              json={"createImage": {"name": f"bench-{number}"}})
                image_id = r.headers["Location"].rsplit("/", 1)[1]
                _wait(http, f"/image/v2/images/{image_id}", None, "status", "active")
                snapshots.append(time.perf_counter() - started)
                sizes.append(http.get(f"/image/v2/images/{image_id}").json()["size"])
                _wait(http, f"{C}/servers/{server_id}", "server", "OS-EXT-STS:task_state",
                      None)
                converts.append(direct(disk))
    snapshot, convert = statistics.median(snapshots), statistics.median(converts)
    print(f"disk: {args.size_mb} MiB written, image {int(statistics.median(sizes))} bytes; "
          f"{args.count} runs each")
    print(f"createImage until active (median): {snapshot * 1000:.1f} ms")
    print(f"qemu-img convert alone (median):   {convert * 1000:.1f} ms")
    print(f"nimbus's overhead over the copy:   {(snapshot - convert) * 1000:.1f} ms "
          f"({snapshot / convert:.2f}x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
