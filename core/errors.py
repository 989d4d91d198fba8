"""The error a run raises when it cannot run at all, as opposed to findings about a delivery."""


class UsageError(Exception):
    """The validation cannot run at all (unknown standard, unreadable rules, bad codelist source)."""
