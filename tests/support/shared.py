"""One whole stack per test module, for the tests that do not interfere.

Starting the stack (API, relay, projector, ingester, two hypervisor workers,
a storage worker, tgtd) costs more than most tests that use it. A test that
only adds resources of its own (its ids and names are unique) and asserts
nothing about the cloud as a whole (the log head across other tests, counts,
lists of everything, quota usage) asks for ``module_stack`` instead of
``running_stack`` and is marked ``@SHARED``, which runs it in the module's
event loop, where that stack runs. tests/support/scheduling.py hands a
module's tests to one xdist worker, so they run one at a time on one stack.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from tests.support.stack import RunningStack, new_subject_prefix, stack_running

SHARED = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def module_stack(
    module_database_url: str, nats_url: str, tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[RunningStack]:
    """The module's stack, on a database and subjects of its own. Instances,
    cores and RAM are unlimited, so that the module's boots add up."""
    async with stack_running(module_database_url, nats_url, new_subject_prefix(),
                             tmp_path_factory.mktemp("stack"), quota_instances=-1,
                             quota_cores=-1, quota_ram=-1) as running:
        # every host's first report registers it: done before any test, so a test
        # comparing the log's head before and after sees no registration land
        await running.hosts_once_reported()
        yield running
