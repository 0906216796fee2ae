"""Errors a user can act on."""

from __future__ import annotations


class UptakeError(Exception):
    """An error with a message meant for the user (what is wrong, where, and what to do)."""
