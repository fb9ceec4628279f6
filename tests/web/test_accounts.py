"""Operator roles and passwords: each role may do exactly what the one below may, and more."""

from __future__ import annotations

import pytest

from riskline.web.accounts import (
    Action,
    Role,
    allowed,
    check_operator_name,
    hash_password,
    parse_role,
    require,
    verify_password,
)
from riskline.web.errors import BadRequest, Forbidden


def test_a_viewer_sees_but_cannot_act() -> None:
    assert allowed(Role.VIEWER, Action.VIEW)
    assert not any(allowed(Role.VIEWER, action) for action in Action if action is not Action.VIEW)


def test_a_duty_officer_acts_but_does_not_manage_accounts() -> None:
    assert all(allowed(Role.DUTY_OFFICER, action) for action in Action if action is not Action.MANAGE_OPERATORS)
    assert not allowed(Role.DUTY_OFFICER, Action.MANAGE_OPERATORS)


def test_a_commander_may_do_everything() -> None:
    assert all(allowed(Role.COMMANDER, action) for action in Action)


def test_a_refusal_names_the_operator_the_role_and_what_was_needed() -> None:
    with pytest.raises(Forbidden, match=r"^kask is a viewer; send report needs a duty_officer$"):
        require(Role.VIEWER, Action.SEND_REPORT, "kask")


def test_passwords_are_stored_as_salted_scrypt_hashes() -> None:
    first, second = hash_password("correct horse battery"), hash_password("correct horse battery")
    assert first.startswith("scrypt$16384$8$1$")
    assert first != second
    assert "correct horse" not in first
    assert verify_password("correct horse battery", first)
    assert not verify_password("correct horse batterY", first)
    assert not verify_password("correct horse battery", "not-a-hash")


def test_a_short_password_is_refused() -> None:
    with pytest.raises(BadRequest, match=r"^password: at least 10 characters$"):
        hash_password("hunter2")


def test_roles_and_names_are_checked() -> None:
    assert parse_role("Duty-Officer") is Role.DUTY_OFFICER
    with pytest.raises(BadRequest, match=r"role 'admiral' is not one of: viewer, duty_officer, commander"):
        parse_role("admiral")
    with pytest.raises(BadRequest, match=r"operator name"):
        check_operator_name("<script>")
