"""What the access service raises: refused operations, failed or throttled logins, a missing CSRF token."""

from __future__ import annotations

from habmon.problems import HabmonError


class AccessError(HabmonError):
    """A user, token or session operation that cannot be done as asked."""


class AuthenticationFailed(HabmonError):
    """Wrong username or password (the message does not say which)."""


class LoginThrottled(HabmonError):
    """Too many failed logins; ``retry_after`` is the number of seconds to wait."""

    def __init__(self, message: str, *, retry_after: int, expected: str = "", found: str = "") -> None:
        super().__init__(message, expected=expected, found=found, hint=f"try again in {retry_after} seconds")
        self.retry_after = retry_after


class CsrfMismatch(HabmonError):
    """A form was sent without the CSRF token of its session."""
