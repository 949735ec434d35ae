"""The CLI's table formatting and its reading of credentials (rc file, env)."""

from __future__ import annotations

from pathlib import Path

import pytest

from runtime.api_client import ApiError, Credentials, load_credentials, parse_rc_file
from runtime.tables import format_fields, format_table

RC = """\
# written by nimbus up
export OS_AUTH_URL=http://127.0.0.1:8774/identity/v3
export OS_USERNAME=admin
export OS_PASSWORD='s3cret with spaces'
export OS_PROJECT_NAME="admin"

OS_REGION_NAME=RegionOne
echo this is not an assignment
"""


# -- tables -------------------------------------------------------------------


def test_columns_are_padded_to_their_widest_cell_under_a_rule() -> None:
    table = format_table(("ID", "Name"), [("1", "m1.tiny"), ("20", "x")])
    assert table.splitlines() == [
        "ID  Name",
        "--  -------",
        "1   m1.tiny",
        "20  x",
    ]


def test_numeric_columns_are_right_aligned() -> None:
    table = format_table(("Name", "RAM"), [("m1.tiny", 512), ("m1.xlarge", 16384)])
    assert table.splitlines()[2:] == ["m1.tiny      512", "m1.xlarge  16384"]
    assert table.splitlines()[0] == "Name         RAM"


def test_none_is_an_empty_cell_and_no_line_has_trailing_spaces() -> None:
    table = format_table(("Status", "Task State"), [("ACTIVE", None)])
    assert table.splitlines()[2] == "ACTIVE"
    assert all(line == line.rstrip() for line in table.splitlines())


def test_booleans_read_as_yes_and_no_and_newlines_stay_on_one_line() -> None:
    table = format_table(("Public", "Fault"), [(True, "disk\nfull"), (False, None)])
    assert table.splitlines()[2:] == ["yes     disk full", "no"]


def test_an_empty_table_still_shows_its_headers() -> None:
    assert format_table(("ID", "Name"), []) == "ID  Name\n--  ----"


def test_a_row_with_the_wrong_number_of_cells_is_refused() -> None:
    with pytest.raises(ValueError, match="2 cells for 3 headers"):
        format_table(("a", "b", "c"), [("1", "2")])


def test_fields_show_one_object_as_field_and_value_rows() -> None:
    assert format_fields([("id", "abc"), ("status", "ACTIVE")]).splitlines() == [
        "Field   Value",
        "------  ------",
        "id      abc",
        "status  ACTIVE",
    ]


# -- the rc file and credentials ------------------------------------------------


def test_the_rc_file_gives_its_exported_variables_with_quotes_removed(tmp_path: Path) -> None:
    rc = tmp_path / "nimbus-rc"
    rc.write_text(RC)
    assert parse_rc_file(rc) == {
        "OS_AUTH_URL": "http://127.0.0.1:8774/identity/v3",
        "OS_USERNAME": "admin",
        "OS_PASSWORD": "s3cret with spaces",
        "OS_PROJECT_NAME": "admin",
        "OS_REGION_NAME": "RegionOne",
    }


def test_an_unclosed_quote_in_the_rc_file_names_the_file_and_line(tmp_path: Path) -> None:
    rc = tmp_path / "nimbus-rc"
    rc.write_text("export OS_USERNAME=admin\nexport OS_PASSWORD='oops\n")
    with pytest.raises(ApiError, match="nimbus-rc line 2"):
        parse_rc_file(rc)


def test_credentials_come_from_the_rc_file_in_the_state_dir(tmp_path: Path) -> None:
    (tmp_path / "nimbus-rc").write_text(RC)
    assert load_credentials(tmp_path, env={}) == Credentials(
        auth_url="http://127.0.0.1:8774/identity/v3",
        username="admin",
        password="s3cret with spaces",
        project_name="admin",
    )


def test_environment_variables_win_over_the_rc_file(tmp_path: Path) -> None:
    (tmp_path / "nimbus-rc").write_text(RC)
    env = {"OS_USERNAME": "alice", "OS_PROJECT_NAME": "demo"}
    credentials = load_credentials(tmp_path, env=env)
    assert (credentials.username, credentials.project_name) == ("alice", "demo")
    assert credentials.password == "s3cret with spaces"


def test_explicit_values_win_over_the_environment(tmp_path: Path) -> None:
    (tmp_path / "nimbus-rc").write_text(RC)
    credentials = load_credentials(
        tmp_path, {"password": "given", "username": None}, env={"OS_PASSWORD": "env"}
    )
    assert credentials.password == "given"
    assert credentials.username == "admin"


def test_without_any_source_the_error_names_what_is_missing(tmp_path: Path) -> None:
    with pytest.raises(ApiError, match=r"OS_AUTH_URL, OS_USERNAME.*nimbus up") as raised:
        load_credentials(tmp_path, env={"OS_PASSWORD": "x", "OS_PROJECT_NAME": "p"})
    assert "OS_PASSWORD" not in raised.value.message
