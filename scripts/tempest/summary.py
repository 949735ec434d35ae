"""Tempest's results in one line per area: "P passed, F failed, S skipped".

Reads the subunit stream of the last run (scripts/tempest.sh) and, when
given, nimbus's log, to count its errors. Class-level fixtures that failed
(setUpClass) count as failures of their class. Writes the failed tests'
ids to failed.txt beside the stream, for a closer look.
"""

from __future__ import annotations

import collections
import re
import sys
from pathlib import Path

import subunit
import testtools

AREA = re.compile(r"^(?:setUpClass \()?tempest\.api\.(\w+)\.")


class Tally(testtools.StreamResult):
    def __init__(self) -> None:
        super().__init__()
        self.results: dict[str, str] = {}

    def status(self, test_id=None, test_status=None, **_kw):  # type: ignore[override]
        if test_id and test_status in ("success", "fail", "skip", "xfail", "uxsuccess"):
            self.results[test_id] = test_status


def main(stream: str, log: str | None = None) -> None:
    tally = Tally()
    with open(stream, "rb") as f:
        subunit.ByteStreamToStreamResult(f, non_subunit_name="stdout").run(tally)
    counts: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    failed = []
    for test_id, status in tally.results.items():
        match = AREA.match(test_id)
        area = match[1] if match else "other"
        kind = {"success": "passed", "skip": "skipped"}.get(status, "failed")
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
