"""Errors the CLI turns into a message and exit status 2 instead of a traceback."""

from __future__ import annotations


class TspanelError(Exception):
    """An error caused by the user's input, with a message that says what to do."""


class DataError(TspanelError):
    """A dataset does not meet the contract in docs/data.md."""
