"""A codelist source over lists written out in a test module, for the test standards and deliveries."""
from __future__ import annotations

import datetime as dt

from disval.core.codelists import Codelist


class ListedCodelists:
    """Serves the lists of a dict {name: {key: (rows...)}}; a name not in it is a list the source lacks."""

    def __init__(self, lists: dict, description: str):
        self.lists = lists
        self.description = description

    def codelist(self, name, delivery_date):
        """The list by name, or None for a list left out."""
        entries = self.lists.get(name)
        return None if entries is None else Codelist(name, dt.date(2019, 1, 1), "test", entries)

    def describe(self) -> str:
        """For reports."""
        return self.description
