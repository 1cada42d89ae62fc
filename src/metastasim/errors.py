"""User-facing errors. The command line prints them as one line on stderr and exits with code 2."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class MetastasimError(Exception):
    """A problem with the user's input: it carries a message meant to be read as is."""


class ScenarioError(MetastasimError):
    """An unknown key, a wrong type or an impossible value in a scenario or parameter set."""


class RunInterrupted(KeyboardInterrupt):
    """A cohort run stopped by Ctrl-C or SIGTERM after it was stored with status 'interrupted'."""

    def __init__(self, run_id: str) -> None:
        super().__init__(run_id)
        self.run_id = run_id


def nearest(name: str, valid: Iterable[str]) -> str | None:
    """Return the valid name closest to `name`, or None if nothing is close."""
    matches = difflib.get_close_matches(name, list(valid), n=1, cutoff=0.5)
    return matches[0] if matches else None


def unknown_key_message(kind: str, name: str, valid: Iterable[str]) -> str:
    """Build the message for an unknown key, naming the nearest valid one."""
    valid = sorted(valid)
    guess = nearest(name, valid)
    if guess is not None:
        return f"unknown {kind} '{name}'; did you mean '{guess}'?"
    shown = ", ".join(valid[:12]) + (", ..." if len(valid) > 12 else "")
    return f"unknown {kind} '{name}'; valid: {shown}"
