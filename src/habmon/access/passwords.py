"""Passwords: argon2id hashes (argon2-cffi), verification with rehash on changed parameters, a minimum policy."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from habmon.problems import HabmonError

MIN_LENGTH = 12
MAX_LENGTH = 1024  # hashing cost does not grow with length, but a megabyte "password" is not one


class WeakPassword(HabmonError):
    """A password that does not meet the minimum policy."""


def check_policy(password: str, username: str = "") -> None:
    """Raise :class:`WeakPassword` naming the rule, what it expects and what it found (never the password)."""
    if len(password) < MIN_LENGTH:
        raise WeakPassword(
            "the password is too short",
            expected=f"at least {MIN_LENGTH} characters",
            found=f"{len(password)} characters",
            hint="a few unrelated words make a long password that is easy to remember",
        )
    if len(password) > MAX_LENGTH:
        raise WeakPassword(
            "the password is too long", expected=f"at most {MAX_LENGTH} characters", found=f"{len(password)}"
        )
    if len(set(password)) < 4:
        raise WeakPassword(
            "the password repeats too few characters",
            expected="at least 4 different characters",
            found=f"{len(set(password))} different characters",
        )
    if username and username.casefold() in password.casefold():
        raise WeakPassword(
            "the password contains the username", expected="a password without the username", found="the username"
        )


@dataclass(frozen=True)
class Verified:
    ok: bool
    new_hash: str | None = None  # set when the stored hash used older parameters: store this one instead


class Passwords:
    """Hash and verify with one :class:`argon2.PasswordHasher` (its defaults unless one is given)."""

    def __init__(self, hasher: PasswordHasher | None = None) -> None:
        self.hasher = hasher or PasswordHasher()
        self._dummy: str | None = None

    def hash(self, password: str) -> str:
        return self.hasher.hash(password)

    def verify(self, stored: str | None, password: str) -> Verified:
        """Whether ``password`` matches ``stored``; with no stored hash the work is done anyway (same timing)."""
        if stored is None:
            if self._dummy is None:
                self._dummy = self.hasher.hash("habmon: no such user")
            with contextlib.suppress(VerificationError, InvalidHashError):
                self.hasher.verify(self._dummy, password)
            return Verified(False)  # even if it matched the dummy
        try:
            self.hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return Verified(False)
        if self.hasher.check_needs_rehash(stored):
            return Verified(True, self.hasher.hash(password))
        return Verified(True)
