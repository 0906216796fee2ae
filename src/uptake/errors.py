"""Errors a user can act on."""

from __future__ import annotations

#: What a person is told when their change is refused because the record changed after they read it.
CONFLICT_MESSAGE = "someone else changed this; reload"


class UptakeError(Exception):
    """An error with a message meant for the user (what is wrong, where, and what to do)."""


class Conflict(UptakeError):
    """The record changed (or was created) since the caller read it: the change was not made, nothing is
    lost, and reloading shows the other change (optimistic locking; the web answers 409)."""

    def __init__(self, message: str = CONFLICT_MESSAGE):
        super().__init__(message)


class NotFound(UptakeError):
    """The record does not exist, or the person asking may not know that it does (the web answers 404, and
    says the same whichever it is)."""
