"""The web console in a real headless Chromium against the whole stack.

An admin logs in at /console, a server is booted through the API, and the
page shows it as an operator would follow it: its events arrive on the
stream, its row in the servers table turns ACTIVE (and a volume's row in the
volumes table turns available), its request traces from
the command to the host's outcome and the views, and its aggregate steps
through its states. The browser is driven from a thread (Selenium blocks)
while the stack serves in the test's event loop.

``NIMBUS_CONSOLE_SCREENSHOT=docs/console.png`` saves what the page shows at
the end of the boot test (docs/console.md shows it).
"""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from pathlib import Path
from typing import Any

from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions as shows
from selenium.webdriver.support.wait import WebDriverWait

from tests.e2e.test_identity_api import a_member
from tests.support.browser import start_chromium
from tests.support.stack import ADMIN_PASSWORD, RunningStack, auth_body

SERVERS = "/compute/v2.1/servers"
BOOT = {"server": {"name": "console-vm", "imageRef": "cirros-0.6.2-x86_64-disk",
                   "flavorRef": "1"}}
WAIT_SECONDS = 30.0  # a bound for a hung stack, not a measurement


class Console:
    """The console page as a person uses it, one sentence per method."""

    def __init__(self, browser: webdriver.Chrome, base_url: str) -> None:
        self.browser = browser
        self.base_url = base_url
        self.wait = WebDriverWait(browser, WAIT_SECONDS)

    def _css(self, selector: str) -> WebElement:
        return self.wait.until(shows.visibility_of_element_located((By.CSS_SELECTOR, selector)))

    def log_in(self, user: str, password: str, project: str) -> None:
        self.browser.get(f"{self.base_url}/console")
        for field, value in (("login-user", user), ("login-password", password),
                             ("login-project", project)):
            box = self._css(f"#{field}")
            box.clear()
            box.send_keys(value)
        self.browser.find_element(By.CSS_SELECTOR, "#login-form button[type=submit]").click()

    def is_following_the_stream(self) -> None:
        self.wait.until(shows.text_to_be_present_in_element((By.ID, "stream-status"), "live"))

    def login_error(self) -> str:
        self.wait.until(lambda _: self.browser.find_element(By.ID, "login-error").text)
        return self.browser.find_element(By.ID, "login-error").text

    def event_row(self, aggregate_id: str, event_type: str) -> WebElement:
        return self._css(f'#events tr[data-aggregate="{aggregate_id}"][data-type="{event_type}"]')

    def click_in_row(self, aggregate_id: str, event_type: str, selector: str) -> None:
        self.event_row(aggregate_id, event_type).find_element(By.CSS_SELECTOR, selector).click()

    def filter_by(self, field: str, value: str) -> None:
        """Types ``value`` over what the filter held (as keys, so the page hears it)."""
        box = self._css(f"#filter-{field}")
        box.send_keys(Keys.CONTROL, "a")
        box.send_keys(value or Keys.BACKSPACE)

    def shown_event_aggregates(self) -> set[str]:
        return {row.get_attribute("data-aggregate") or "" for row in self._shown_rows()}

    def shown_event_types(self) -> set[str]:
        return {row.get_attribute("data-type") or "" for row in self._shown_rows()}

    def _shown_rows(self) -> list[WebElement]:
        return self.browser.find_elements(By.CSS_SELECTOR, "#events tbody tr")

    def row_turns(self, table: str, resource_id: str, status: str) -> WebElement:
        return self._css(f'#{table} tr[data-id="{resource_id}"][data-status="{status}"]')

    def trace_request_of(self, aggregate_id: str, event_type: str) -> dict[str, list[str]]:
        """Clicks the request of that event's row; the event types the causal
        view lists in each phase."""
        self.click_in_row(aggregate_id, event_type, "button.request")
        self._css('#request li.phase[data-phase="outcome"] li[data-type]')
        phases: dict[str, list[str]] = {}
        for phase in ("events", "outcome"):
            items = self.browser.find_elements(
                By.CSS_SELECTOR, f'#request li.phase[data-phase="{phase}"] li[data-type]')
            phases[phase] = [item.get_attribute("data-type") or "" for item in items]
        return phases

    def views_of_the_request(self) -> str:
        return self._css('#request li.phase[data-phase="views"]').text

    def request_summary(self) -> str:
        return self._css("#request p.summary").text

    def step_through(self, aggregate_id: str, event_type: str) -> list[tuple[str, dict[str, Any]]]:
        """Clicks the aggregate of that event's row, goes to its first state
        and steps to its last: each event's type with the state after it."""
        self.click_in_row(aggregate_id, event_type, "button.aggregate")
        self._css("#stepper")
        seen: list[tuple[str, dict[str, Any]]] = []
        self.browser.find_element(By.ID, "step-first").click()
        while True:
            self.wait.until(shows.text_to_be_present_in_element(
                (By.ID, "step-label"), f"event {len(seen) + 1} of "))
            label = self.browser.find_element(By.ID, "step-label")
            state = json.loads(self.browser.find_element(By.ID, "step-state").text)
            seen.append((label.get_attribute("data-type") or "", state))
            following = self.browser.find_element(By.ID, "step-next")
            if not following.is_enabled():
                return seen
            following.click()

    def lag_rows(self) -> list[str]:
        """The lag table's rows as text, read in one go: the table is drawn
        anew on every refresh, so rows found one call earlier may be gone."""
        self._css("#lag tbody tr")
        rows: list[str] = self.browser.execute_script(
            "return Array.from(document.querySelectorAll('#lag tbody tr'),"
            " row => row.innerText.replace(/\\s+/g, ' ').trim())")
        return rows

    def save_screenshot(self, path: Path) -> None:
        self.browser.execute_script("window.scrollTo(0, 0)")
        self.browser.save_screenshot(str(path))


async def open_console(stack: RunningStack, profile: Path) -> Console:
    browser = await asyncio.to_thread(start_chromium, profile)
    return Console(browser, stack.settings.base_url)


async def test_the_console_follows_a_boot_from_its_request_to_its_states(
        running_stack: RunningStack, tmp_path: Path) -> None:
    console = await open_console(running_stack, tmp_path / "chromium")
    try:
        await asyncio.to_thread(console.log_in, "admin", ADMIN_PASSWORD, "admin")
        await asyncio.to_thread(console.is_following_the_stream)

        r = await running_stack.http.post(SERVERS, json=BOOT)
        assert r.status_code == 202, r.text
        server_id = r.json()["server"]["id"]
        request_id = r.headers["x-openstack-request-id"]

        await asyncio.to_thread(console.event_row, server_id, "InstanceCreateRequested")
        await asyncio.to_thread(console.event_row, server_id, "InstanceSpawned")
        await asyncio.to_thread(console.row_turns, "servers", server_id, "ACTIVE")

        shown = await running_stack.http.get(f"{SERVERS}/{server_id}")
        project_id = shown.json()["server"]["tenant_id"]
        r = await running_stack.http.post(f"/volume/v3/{project_id}/volumes",
                                          json={"volume": {"size": 1, "name": "console-data"}})
        assert r.status_code == 202, r.text
        await asyncio.to_thread(console.row_turns, "volumes", r.json()["volume"]["id"],
                                "available")

        await asyncio.to_thread(console.filter_by, "aggregate", server_id)
        assert await asyncio.to_thread(console.shown_event_aggregates) == {server_id}
        await asyncio.to_thread(console.filter_by, "aggregate", "")
        assert len(await asyncio.to_thread(console.shown_event_aggregates)) > 1
        await asyncio.to_thread(console.filter_by, "type", "spawned")
        assert await asyncio.to_thread(console.shown_event_types) == {"InstanceSpawned"}
        await asyncio.to_thread(console.filter_by, "type", "")
        await asyncio.to_thread(console.filter_by, "project", project_id)
        assert server_id in await asyncio.to_thread(console.shown_event_aggregates)
        await asyncio.to_thread(console.filter_by, "project", "no-such-project")
        assert await asyncio.to_thread(console.shown_event_aggregates) == set()
        await asyncio.to_thread(console.filter_by, "project", "")

        phases = await asyncio.to_thread(console.trace_request_of, server_id,
                                        "InstanceCreateRequested")
        # the boot's commit: the instance, and its quota and host claims beside it
        assert phases["events"][0] == "InstanceCreateRequested"
        assert {"QuotaUsageClaimed", "HostCapacityClaimed"} <= set(phases["events"])
        assert phases["outcome"][-1] == "InstanceSpawned"
        assert request_id in await asyncio.to_thread(console.request_summary)
        assert "applied" in await asyncio.to_thread(console.views_of_the_request)

        states = await asyncio.to_thread(console.step_through, server_id,
                                        "InstanceCreateRequested")
        assert states[0][0] == "InstanceCreateRequested"
        assert states[0][1]["vm_state"] == "building"
        assert states[-1][0] == "InstanceSpawned"
        assert states[-1][1]["vm_state"] == "active"

        assert await asyncio.to_thread(console.lag_rows)
        if screenshot := os.environ.get("NIMBUS_CONSOLE_SCREENSHOT"):
            await asyncio.to_thread(console.save_screenshot, Path(screenshot))
    finally:
        await asyncio.to_thread(console.browser.quit)


READY_WITH_PARTS = {"status": "not ready", "parts": [
    {"name": "instances", "kind": "view", "position": 40, "lag_events": 2, "lag_seconds": 0.5,
     "stuck": False, "why": None},
    {"name": "compute1", "kind": "host", "position": 12, "lag_events": 30, "lag_seconds": 61.0,
     "stuck": True, "why": "no heartbeat for 61 s"},
]}


# the refreshes stopped, and any read of /readyz still on its way made old news
STOP_AND_RENDER = """state.stream.abort(); clearInterval(state.lagTimer);
clearTimeout(state.refreshTimer); reads.lag = (reads.lag || 0) + 1; renderLag(arguments[0]);"""


async def test_the_lag_panel_names_each_part_that_readyz_lists(
        running_stack: RunningStack, tmp_path: Path) -> None:
    console = await open_console(running_stack, tmp_path / "chromium")
    try:
        await asyncio.to_thread(console.log_in, "admin", ADMIN_PASSWORD, "admin")
        await asyncio.to_thread(console.is_following_the_stream)
        before = await asyncio.to_thread(console.lag_rows)  # this stack's /readyz parts
        assert before[0].startswith("instances view ")
        assert any(row.startswith("relay relay ") for row in before)
        # the page's own rendering of a /readyz body with parts
        await asyncio.to_thread(console.browser.execute_script, STOP_AND_RENDER, READY_WITH_PARTS)
        rows = await asyncio.to_thread(console.lag_rows)
        assert rows == ["instances view 40 2 0.5 no",
                        "compute1 host 12 30 61.0 yes: no heartbeat for 61 s"]
    finally:
        await asyncio.to_thread(console.browser.quit)


async def test_the_console_tells_a_non_admin_that_it_is_for_administrators(
        running_stack: RunningStack, tmp_path: Path) -> None:
    await a_member(running_stack, "ann", "ann-project")
    console = await open_console(running_stack, tmp_path / "chromium")
    try:
        await asyncio.to_thread(console.log_in, "ann", "ann-pw", "ann-project")
        message = await asyncio.to_thread(console.login_error)
        assert "not an administrator" in message
        assert not await asyncio.to_thread(console.browser.find_element(By.ID, "console")
                                           .is_displayed)
    finally:
        await asyncio.to_thread(console.browser.quit)


async def test_the_consoles_own_routes_answer_admins_only_name_what_is_wrong_and_hide_secrets(
        running_stack: RunningStack) -> None:
    http = running_stack.http
    await a_member(running_stack, "bob", "bob-project")
    r = await http.post("/identity/v3/auth/tokens",
                        json=auth_body("bob", "bob-pw", "bob-project"),
                        headers={"X-Auth-Token": ""})
    bob = {"X-Auth-Token": r.headers["X-Subject-Token"]}
    for path in ("/console/api/session", "/console/api/requests/req-1",
                 f"/console/api/aggregates/{uuid.uuid4()}/states"):
        assert (await http.get(path, headers=bob)).status_code == 403, path
        assert (await http.get(path, headers={"X-Auth-Token": ""})).status_code == 401, path

    r = await http.get("/console/api/aggregates/not-a-uuid/states")
    assert r.status_code == 400 and "UUID" in r.text
    r = await http.get(f"/console/api/aggregates/{uuid.uuid4()}/states")
    assert r.status_code == 404
    admin = (await http.get("/console/api/session")).json()["user_id"]
    r = await http.get(f"/console/api/aggregates/{admin}/states")
    assert r.status_code == 200 and r.json()["states"][0]["type"] == "UserCreated"
    assert {s["state"]["password_hash"] for s in r.json()["states"]} == {"(hidden)"}
    r = await http.get("/console/api/requests/req-never-made")
    assert r.status_code == 200 and r.json()["steps"] == []
    r = await http.get("/console")
    assert r.status_code == 200 and "<h1>nimbus console</h1>" in r.text
    assert "default-src 'self'" in r.headers["content-security-policy"]
