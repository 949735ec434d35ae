"""How pytest-xdist hands out the tests: the tests of a module that share its
stack (``module_stack``, tests/support/shared.py) go to one worker together,
so the module starts one stack; every other test goes out on its own.

xdist's own ``--dist loadgroup`` would do this with an ``xdist_group`` mark,
but it tags a test by rewriting a node id field that pytest 9 no longer reads,
so the groups are lost; this scheduler decides from the module instead.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import pytest
from xdist.scheduler import LoadScopeScheduling


@cache
def _shares_a_stack(module: Path) -> bool:
    return module.suffix == ".py" and "module_stack" in module.read_text()


class ModuleStacks(LoadScopeScheduling):  # type: ignore[misc]  # xdist has no types
    """Load scheduling, but a module with a shared stack is one unit of work
    (the largest units are handed out first)."""

    def _split_scope(self, nodeid: str) -> str:
        module = nodeid.split("::", 1)[0]
        return module if _shares_a_stack(self.config.rootpath / module) else nodeid


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> ModuleStacks | None:
    return ModuleStacks(config, log) if config.getvalue("dist") == "load" else None
