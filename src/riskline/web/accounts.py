"""Operators, their roles, and what each role may do; password hashes.

Three roles, each including the one before (issue 8, "Security"):

* ``viewer`` — sees everything the node sees; changes nothing, sends nothing;
* ``duty_officer`` — acknowledges, snoozes and resolves alarms; replies to and acknowledges messages; sends
  incident reports;
* ``commander`` — all of that, and manages operator accounts.

Every action of the HTTP face is checked against ``allowed(role, action)`` on the server; the page only hides
the buttons a role may not use. Passwords are stored as scrypt hashes (RFC 7914, N=2^14, r=8, p=1, 16-byte
salt), compared in constant time; a password is never stored, logged or sent back.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from enum import StrEnum

from riskline.web.errors import BadRequest, Forbidden


class Role(StrEnum):
    VIEWER = "viewer"
    DUTY_OFFICER = "duty_officer"
    COMMANDER = "commander"


class Action(StrEnum):
    VIEW = "view"
    ACKNOWLEDGE_ALARM = "acknowledge_alarm"
    SNOOZE_ALARM = "snooze_alarm"
    RESOLVE_ALARM = "resolve_alarm"
    SEND_REPORT = "send_report"
    REPLY = "reply"
    ACKNOWLEDGE_MESSAGE = "acknowledge_message"
    MANAGE_OPERATORS = "manage_operators"


_RANK = {Role.VIEWER: 0, Role.DUTY_OFFICER: 1, Role.COMMANDER: 2}
_NEEDS: dict[Action, Role] = {
    Action.VIEW: Role.VIEWER,
    Action.ACKNOWLEDGE_ALARM: Role.DUTY_OFFICER,
    Action.SNOOZE_ALARM: Role.DUTY_OFFICER,
    Action.RESOLVE_ALARM: Role.DUTY_OFFICER,
    Action.SEND_REPORT: Role.DUTY_OFFICER,
    Action.REPLY: Role.DUTY_OFFICER,
    Action.ACKNOWLEDGE_MESSAGE: Role.DUTY_OFFICER,
    Action.MANAGE_OPERATORS: Role.COMMANDER,
}

MIN_PASSWORD_LENGTH = 10
_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2**14, 8, 1


def parse_role(text: str) -> Role:
    try:
        return Role(text.strip().lower().replace("-", "_").replace(" ", "_"))
    except ValueError:
        raise BadRequest(f"role {text!r} is not one of: {', '.join(r.value for r in Role)}") from None


def allowed(role: Role, action: Action) -> bool:
    """Whether ``role`` may do ``action``."""
    return _RANK[role] >= _RANK[_NEEDS[action]]


def require(role: Role, action: Action, operator: str) -> None:
    """Raise ``Forbidden`` naming the operator, the role and the action unless ``role`` may do ``action``."""
    if not allowed(role, action):
        raise Forbidden(
            f"{operator} is a {role.value}; {action.value.replace('_', ' ')} needs a {_NEEDS[action].value}"
        )


def check_operator_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > 64 or any(c.isspace() or c in "<>&\"'" for c in name):
        raise BadRequest(f"operator name {name!r}: 1 to 64 characters, no spaces, no <>&\"'")
    return name


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    """``scrypt$N$r$p$salt$hash`` (base64) of ``password``; ``BadRequest`` if it is shorter than 10 characters."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise BadRequest(f"password: at least {MIN_PASSWORD_LENGTH} characters")
    salt = salt if salt is not None else secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_SCRYPT_N, r=_SCRYPT_R, p=_SCRYPT_P, dklen=32)
    encoded = [base64.b64encode(part).decode("ascii") for part in (salt, digest)]
    return f"scrypt${_SCRYPT_N}${_SCRYPT_R}${_SCRYPT_P}${encoded[0]}${encoded[1]}"


def verify_password(password: str, stored: str) -> bool:
    """Whether ``password`` matches ``stored`` (constant-time); False for a malformed hash."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest)
        actual = hashlib.scrypt(
            password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p), dklen=len(expected)
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)
