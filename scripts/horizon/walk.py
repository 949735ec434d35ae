"""A person's walk through Horizon against nimbus, in headless Chromium.

scripts/horizon.sh runs it once Horizon answers. Each step prints one line,
``ok  <step>`` or ``FAILED  <step>: <why>``, and leaves a screenshot in the
shots folder; a failed step does not stop the walk, but the steps that need
what it would have made say so. The last line is ``N passed, N failed``.

    python scripts/horizon/walk.py HORIZON_URL PASSWORD SHOTS_DIR
"""

from __future__ import annotations

import contextlib
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from selenium import webdriver
from selenium.common.exceptions import TimeoutException, WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions as shows
from selenium.webdriver.support.ui import Select
from selenium.webdriver.support.wait import WebDriverWait

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from tests.support.browser import start_chromium

WAIT_SECONDS = 60.0  # a bound for a hung page, not a measurement
SERVER = f"horizon-vm-{uuid.uuid4().hex[:6]}"
VOLUME = f"horizon-vol-{uuid.uuid4().hex[:6]}"
KEYPAIR = f"horizon-key-{uuid.uuid4().hex[:6]}"


class StepFailed(Exception):
    """What a person would have seen go wrong on the page."""


class Horizon:
    """Horizon's pages as a person uses them."""

    def __init__(self, browser: webdriver.Chrome, base_url: str, shots: Path) -> None:
        self.browser = browser
        self.base_url = base_url.rstrip("/")
        self.shots = shots
        self.wait = WebDriverWait(browser, WAIT_SECONDS)

    # --- page helpers -------------------------------------------------

    def open(self, path: str) -> None:
        self.browser.get(self.base_url + path)
        self.wait.until(lambda b: b.execute_script("return document.readyState") == "complete")
        self.settle()
        self.check_page()

    def settle(self) -> None:
        """Waits for Horizon's own requests (jQuery and Angular) to end."""
        script = ("return (!window.jQuery || jQuery.active === 0) && "
                  "!document.querySelector('.modal-backdrop.in .loading, #modal_wrapper .loader')")
        with contextlib.suppress(TimeoutException):
            self.wait.until(lambda b: b.execute_script(script))

    def css(self, selector: str) -> WebElement:
        try:
            return self.wait.until(
                shows.visibility_of_element_located((By.CSS_SELECTOR, selector)))
        except TimeoutException as error:
            raise StepFailed(f"{selector} never showed{self.errors_suffix()}") from error

    def click(self, selector: str) -> None:
        element = self.css(selector)
        self.browser.execute_script("arguments[0].scrollIntoView({block: 'center'});", element)
        try:
            self.wait.until(shows.element_to_be_clickable((By.CSS_SELECTOR, selector))).click()
        except (TimeoutException, WebDriverException):
            self.browser.execute_script("arguments[0].click();", element)

    def type_into(self, selector: str, text: str) -> None:
        box = self.css(selector)
        box.clear()
        box.send_keys(text)

    def error_messages(self) -> list[str]:
        found = []
        for element in self.browser.find_elements(
                By.CSS_SELECTOR, ".alert-danger, .alert-error, .messages .error"):
            text = " ".join(element.text.split())
            if text and text not in found:
                found.append(text)
        return found

    def errors_suffix(self) -> str:
        errors = self.error_messages()
        return f" (page says: {' | '.join(errors)})" if errors else ""

    def check_page(self) -> None:
        title = self.browser.title
        if "Error" in title or " at /" in title or "Page Not Found" in title:
            heading = self.browser.find_elements(By.CSS_SELECTOR, "#summary h1, h1")
            raise StepFailed(f"error page: {title} {heading[0].text if heading else ''}".strip())
        errors = self.error_messages()
        if errors:
            raise StepFailed("; ".join(errors))

    def wait_for_text(self, text: str, selector: str = "body") -> None:
        try:
            self.wait.until(
                shows.text_to_be_present_in_element((By.CSS_SELECTOR, selector), text))
        except TimeoutException as error:
            raise StepFailed(
                f"{text!r} never showed in {selector}{self.errors_suffix()}") from error

    def row(self, table: str, name: str) -> WebElement:
        """The row of a Django table (data-display is the row's name)."""
        return self.css(f'#{table} tr[data-display="{name}"]')

    def row_id(self, table: str, name: str) -> str:
        return (self.row(table, name).get_attribute("data-object-id") or "").strip()

    def _rows(self, table: str, name: str) -> list[WebElement]:
        return self.browser.find_elements(By.CSS_SELECTOR, f'#{table} tr[data-display="{name}"]')

    def row_status(self, table: str, name: str, status: str) -> None:
        """Reloads the table's page until the row's status cell reads ``status``."""
        deadline = time.monotonic() + WAIT_SECONDS
        seen = ""
        while time.monotonic() < deadline:
            rows = self._rows(table, name)
            if rows:
                seen = " ".join(rows[0].text.split())
                if status.lower() in seen.lower():
                    return
            time.sleep(1)
            self.browser.refresh()
            self.settle()
        raise StepFailed(f"{name} never showed {status!r} (last: {seen!r}){self.errors_suffix()}")

    def row_gone(self, table: str, name: str) -> None:
        deadline = time.monotonic() + WAIT_SECONDS
        while time.monotonic() < deadline:
            if not self._rows(table, name):
                return
            time.sleep(1)
            self.browser.refresh()
            self.settle()
        raise StepFailed(f"{name} is still listed{self.errors_suffix()}")

    def row_action(self, table: str, action: str, object_id: str) -> None:
        """Presses a row's action button (the ones in its drop-down too)."""
        selector = f'#{table} button[value="{table}__{action}__{object_id}"], ' \
                   f'#{table} a[id="{table}__row_{object_id}__action_{action}"]'
        buttons = self.browser.find_elements(By.CSS_SELECTOR, selector)
        if not buttons:
            raise StepFailed(f"no {action} action on the row{self.errors_suffix()}")
        self.browser.execute_script("arguments[0].click();", buttons[0])
        self.settle()

    def confirm(self) -> None:
        self.click("#modal_wrapper .modal-footer .btn-danger, "
                   "#modal_wrapper .modal-footer .btn-primary")
        self.settle()

    def submit_modal(self) -> None:
        self.click('#modal_wrapper .modal-footer input[type="submit"], '
                   '#modal_wrapper .modal-footer button[type="submit"]')
        self.settle()
        self.check_page()

    def shoot(self, name: str) -> None:
        self.browser.save_screenshot(str(self.shots / f"{name}.png"))


class Walk:
    """The steps, in the order a person meets them."""

    def __init__(self, horizon: Horizon, password: str) -> None:
        self.h = horizon
        self.password = password
        self.server_id = ""
        self.volume_id = ""

    def log_in(self) -> None:
        h = self.h
        h.browser.get(h.base_url + "/auth/login/")
        h.type_into("#id_username", "admin")
        h.type_into("#id_password", self.password)
        h.click("#loginBtn")
        h.wait.until(lambda b: "/auth/login" not in b.current_url or h.error_messages())
        if "/auth/login" in h.browser.current_url:
            raise StepFailed("; ".join(h.error_messages()) or "still on the login page")
        h.settle()
        h.check_page()

    def overview(self) -> None:
        self.h.open("/project/")
        self.h.wait_for_text("Limit Summary")

    def images(self) -> None:
        self.h.open("/project/images/")
        self.h.wait_for_text("cirros-0.6.2-x86_64-disk")
        self.h.check_page()

    def key_pairs(self) -> None:
        h = self.h
        h.open("/project/key_pairs/")
        h.click('a[id$="create-keypair"], button.btn-default[ng-click*="create"], '
                '#keypairs__action_create')
        h.type_into('input[name="name"], #id_name, #keypair-name', KEYPAIR)
        h.click('.modal-footer .btn-primary')
        h.settle()
        h.open("/project/key_pairs/")
        h.wait_for_text(KEYPAIR)
        h.check_page()

    def launch_instance(self) -> None:
        h = self.h
        h.open("/project/instances/")
        h.click("#instances__action_launch-ng")
        h.type_into('input[name="name"]', SERVER)
        self._wizard_step("Source")
        h.wait_for_text("cirros-0.6.2-x86_64-disk", ".modal-body")
        h.click('.modal-body transfer-table tr[ng-repeat-start] button.btn-default, '
                '.modal-body .transfer-table button[ng-click*="allocate"]')
        self._wizard_step("Flavor")
        h.wait_for_text("m1.tiny", ".modal-body")
        buttons = h.browser.find_elements(
            By.XPATH, "//div[contains(@class,'modal-body')]"
                      "//tr[.//td[normalize-space()='m1.tiny']]//button")
        if not buttons:
            raise StepFailed(f"m1.tiny has no allocate button{h.errors_suffix()}")
        h.browser.execute_script("arguments[0].click();", buttons[0])
        self._wizard_step("Networks")
        h.wait_for_text("private", ".modal-body")
        allocated = h.browser.find_elements(
            By.XPATH, "//div[contains(@class,'modal-body')]"
                      "//*[contains(@class,'transfer-allocated')]"
                      "//td[contains(normalize-space(),'private')]")
        if not allocated:
            buttons = h.browser.find_elements(
                By.XPATH, "//div[contains(@class,'modal-body')]"
                          "//tr[.//td[contains(normalize-space(),'private')]]//button")
            if buttons:
                h.browser.execute_script("arguments[0].click();", buttons[0])
        h.click(".modal-footer button.finish")
        h.settle()
        h.wait.until(lambda b: not b.find_elements(By.CSS_SELECTOR, ".modal-dialog .wizard"))
        h.open("/project/instances/")
        h.row_status("instances", SERVER, "Active")
        self.server_id = h.row_id("instances", SERVER)

    def _wizard_step(self, label: str) -> None:
        named = f"a[contains(normalize-space(),'{label}')]"
        links = self.h.browser.find_elements(
            By.XPATH, f"//div[contains(@class,'wizard-nav')]//{named}"
                      f" | //ul[contains(@class,'wizard-nav')]//{named}"
                      f" | //*[contains(@class,'nav')]//a[normalize-space()='{label}']")
        if not links:
            raise StepFailed(f"no {label} step in the wizard")
        self.h.browser.execute_script("arguments[0].click();", links[0])
        self.h.settle()

    def _need_server(self) -> None:
        if not self.server_id:
            raise StepFailed("no instance (launch failed)")

    def pause(self) -> None:
        self._need_server()
        self.h.open("/project/instances/")
        self.h.row_action("instances", "pause", self.server_id)
        self.h.row_status("instances", SERVER, "Paused")

    def unpause(self) -> None:
        self._need_server()
        self.h.open("/project/instances/")
        self.h.row_action("instances", "pause", self.server_id)  # the one toggle
        self.h.row_status("instances", SERVER, "Active")

    def create_volume(self) -> None:
        h = self.h
        h.open("/project/volumes/")
        h.click("#volumes__action_create")
        h.type_into("#id_name", VOLUME)
        h.type_into("#id_size", "1")
        h.submit_modal()
        h.open("/project/volumes/")
        h.row_status("volumes", VOLUME, "Available")
        self.volume_id = h.row_id("volumes", VOLUME)

    def attach_volume(self) -> None:
        self._need_server()
        if not self.volume_id:
            raise StepFailed("no volume (create failed)")
        h = self.h
        h.open("/project/volumes/")
        h.row_action("volumes", "attachments", self.volume_id)
        # Horizon's themed drop-down hides the real <select>: set it as its menu would
        h.css("#modal_wrapper .modal-footer")
        select = h.browser.find_element(By.CSS_SELECTOR, "#id_instance")
        values = [o.get_attribute("value") or "" for o in Select(select).options]
        wanted = [v for v in values if v.startswith(self.server_id)]
        if not wanted:
            raise StepFailed(f"the instance is not offered to attach to: {values}")
        h.browser.execute_script(
            "arguments[0].value = arguments[1];"
            "arguments[0].dispatchEvent(new Event('change', {bubbles: true}));",
            select, wanted[0])
        h.submit_modal()
        h.open("/project/volumes/")
        h.row_status("volumes", VOLUME, "In-use")

    def detach_volume(self) -> None:
        self._need_server()
        h = self.h
        h.open("/project/volumes/")
        h.row_action("volumes", "attachments", self.volume_id)
        buttons = h.browser.find_elements(
            By.CSS_SELECTOR, '#modal_wrapper button[value*="__detach__"]')
        if not buttons:
            raise StepFailed(f"no Detach button in Manage Attachments{h.errors_suffix()}")
        h.browser.execute_script("arguments[0].click();", buttons[0])
        h.settle()
        h.confirm()
        h.open("/project/volumes/")
        h.row_status("volumes", VOLUME, "Available")

    def snapshots(self) -> None:
        h = self.h
        if not self.volume_id:
            raise StepFailed("no volume (create failed)")
        h.open("/project/volumes/")
        h.row_action("volumes", "snapshots", self.volume_id)
        h.type_into("#id_name", VOLUME + "-snap")
        h.submit_modal()
        h.open("/project/snapshots/")
        h.row_status("volume_snapshots", VOLUME + "-snap", "Available")

    def delete_snapshot(self) -> None:
        h = self.h
        h.open("/project/snapshots/")
        snapshot_id = h.row_id("volume_snapshots", VOLUME + "-snap")
        h.row_action("volume_snapshots", "delete", snapshot_id)
        h.confirm()
        h.open("/project/snapshots/")
        h.row_gone("volume_snapshots", VOLUME + "-snap")

    def delete_volume(self) -> None:
        h = self.h
        if not self.volume_id:
            raise StepFailed("no volume (create failed)")
        h.open("/project/volumes/")
        h.row_action("volumes", "delete", self.volume_id)
        h.confirm()
        h.open("/project/volumes/")
        h.row_gone("volumes", VOLUME)

    def delete_instance(self) -> None:
        self._need_server()
        h = self.h
        h.open("/project/instances/")
        h.row_action("instances", "delete", self.server_id)
        h.confirm()
        h.open("/project/instances/")
        h.row_gone("instances", SERVER)

    def admin_hypervisors(self) -> None:
        self.h.open("/admin/hypervisors/")
        self.h.wait_for_text("compute1")

    def admin_flavors(self) -> None:
        self.h.open("/admin/flavors/")
        self.h.wait_for_text("m1.tiny")

    def admin_instances(self) -> None:
        self.h.open("/admin/instances/")
        self.h.wait_for_text("Instances")

    def identity_projects(self) -> None:
        self.h.open("/identity/")
        self.h.wait_for_text("admin", "#tenants")

    def identity_users(self) -> None:
        self.h.open("/identity/users/")
        self.h.wait_for_text("admin", "#users")


def main() -> int:
    base_url, password, shots_dir = sys.argv[1:4]
    shots = Path(shots_dir)
    shots.mkdir(parents=True, exist_ok=True)
    passed = failed = 0
    with tempfile.TemporaryDirectory(prefix="nimbus-horizon-chromium-") as profile:
        browser = start_chromium(Path(profile))
        try:
            horizon = Horizon(browser, base_url, shots)
            walk = Walk(horizon, password)
            steps: list[tuple[str, Callable[[], None], str]] = [
                ("log in", walk.log_in, "login"),
                ("overview", walk.overview, "overview"),
                ("images", walk.images, "images"),
                ("key pairs: create", walk.key_pairs, "key-pairs"),
                ("instances: launch", walk.launch_instance, "instances-launched"),
                ("instances: pause", walk.pause, "instances-paused"),
                ("instances: unpause", walk.unpause, "instances-unpaused"),
                ("volumes: create", walk.create_volume, "volumes-created"),
                ("volumes: attach", walk.attach_volume, "volumes-attached"),
                ("volumes: detach", walk.detach_volume, "volumes-detached"),
                ("snapshots: create", walk.snapshots, "snapshots"),
                ("snapshots: delete", walk.delete_snapshot, "snapshots-deleted"),
                ("volumes: delete", walk.delete_volume, "volumes-deleted"),
                ("instances: delete", walk.delete_instance, "instances-deleted"),
                ("admin: hypervisors", walk.admin_hypervisors, "admin-hypervisors"),
                ("admin: flavors", walk.admin_flavors, "admin-flavors"),
                ("admin: instances", walk.admin_instances, "admin-instances"),
                ("identity: projects", walk.identity_projects, "identity-projects"),
                ("identity: users", walk.identity_users, "identity-users"),
            ]
            for label, step, shot in steps:
                try:
                    step()
                except StepFailed as error:
                    failed += 1
                    print(f"FAILED  {label}: {error}", flush=True)
                except WebDriverException as error:
                    failed += 1
                    print(f"FAILED  {label}: {error.msg or type(error).__name__}", flush=True)
                else:
                    passed += 1
                    print(f"ok      {label}", flush=True)
                horizon.shoot(shot)
        finally:
            browser.quit()
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
