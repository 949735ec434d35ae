"""Domain errors: the reasons a decision refuses a command.

The API maps each class to an HTTP status and a Nova-style body in one
table (api/errors.py); nothing here knows about HTTP.
"""

from __future__ import annotations


class DomainError(Exception):
    """A command was refused; nothing was written."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(DomainError):
    """The thing named does not exist (or is not visible to the caller)."""


class InvalidInput(DomainError):
    """A field of the request is missing or has a value that cannot be used."""


class InvalidState(DomainError):
    """The transition is illegal in the aggregate's current state."""


class Conflict(DomainError):
    """A concurrent writer won repeatedly; the caller may try again."""


class Unauthorized(DomainError):
    """No valid credentials were presented."""


class Forbidden(DomainError):
    """The caller is known but may not do this."""


class TooLarge(DomainError):
    """The request's entity is larger than allowed (413, e.g. an image upload)."""
