"""Tempest's results in one line per area: "P passed, F failed, S skipped".

Reads the subunit stream of the last run (scripts/tempest.sh), the list of
the tests in scope (``tempest run --list-tests``) and, when given, nimbus's
log, to count its errors. A test of a class whose set-up failed or was
skipped is not in the stream: it counts as its class did, so the figures are
per test, not per class. Writes the failed tests' ids to failed.txt beside
the stream, for a closer look.
"""

from __future__ import annotations

import collections
import re
import sys
from pathlib import Path
from typing import Any

import subunit
import testtools

AREA = re.compile(r"^tempest\.api\.(\w+)\.")
CLASS_SETUP = re.compile(r"^setUpClass \((.+)\)$")


class Tally(testtools.StreamResult):
    def __init__(self) -> None:
        super().__init__()
        self.results: dict[str, str] = {}

    def status(self, test_id: str | None = None, test_status: str | None = None,
               **_kw: Any) -> None:
        if test_id and test_status in ("success", "fail", "skip", "xfail", "uxsuccess"):
            self.results[test_id] = test_status


def _kind(status: str) -> str:
    return {"success": "passed", "skip": "skipped"}.get(status, "failed")


def main(stream: str, listed: str, log: str | None = None) -> None:
    tally = Tally()
    with open(stream, "rb") as f:
        subunit.ByteStreamToStreamResult(f, non_subunit_name="stdout").run(tally)
    by_class = {m[1]: status for test_id, status in tally.results.items()
                if (m := CLASS_SETUP.match(test_id))}
    results = {test_id.split("[")[0]: status for test_id, status in tally.results.items()
               if not CLASS_SETUP.match(test_id)}
    counts: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    failed = []
    for line in Path(listed).read_text().splitlines():
        test_id = line.strip().split("[")[0]
        if not test_id.startswith("tempest."):
            continue
        status = results.get(test_id) or by_class.get(test_id.rpartition(".")[0], "fail")
        match = AREA.match(test_id)
        area = match[1] if match else "other"
        kind = _kind(status)
        counts[area][kind] += 1
        counts["all"][kind] += 1
        if kind == "failed":
            failed.append(test_id)
    Path(stream).with_name("failed.txt").write_text("".join(f"{t}\n" for t in sorted(failed)))
    for area in sorted(counts, key=lambda a: (a == "all", a)):
        c = counts[area]
        ran = c["passed"] + c["failed"]
        share = f" ({100 * c['passed'] / ran:.1f}% of those run)" if ran else ""
        print(f"{area}: {c['passed']} passed, {c['failed']} failed, {c['skipped']} skipped{share}")
    if log:
        errors = sum(1 for line in Path(log).read_text(errors="replace").splitlines()
                     if " ERROR " in line or "Traceback" in line)
        print(f"nimbus log: {errors} error lines")


if __name__ == "__main__":
    main(*sys.argv[1:])
