"""Registered providers, their software notices and their fixed technical settings, in a `SqlStore`."""
from __future__ import annotations

import datetime as dt

from .delivery_store import ProviderSettings, SoftwareNotice, StoreError
from .values import _now, _provider, _ts

_PROVIDER = "agb, branch, username, name, active, created_at, deactivated_at"


class SqlProviders:
    """The provider methods of `SqlStore` (`add_provider`, `provider_settings`, ...), on its `_exec` and
    `_transaction`."""

    def _provider_id(self, agb: str, branch: str) -> int:
        row = self._exec("SELECT id FROM providers WHERE agb = ? AND branch = ?", (agb, branch)).fetchone()
        if row is None:
            raise StoreError(f"provider {agb} {branch} is not registered (disval provider add {agb} {branch} ...)")
        return row[0]

    def add_provider(self, agb, branch, username, name=""):
        with self._transaction():
            if self.provider(agb, branch) is not None:
                raise StoreError(f"provider {agb} {branch} is already registered")
            self._exec(
                f"INSERT INTO providers ({_PROVIDER}) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (agb, branch, username, name, True, _now(), None),
            )
        return self.provider(agb, branch)

    def provider(self, agb, branch):
        row = self._exec(f"SELECT {_PROVIDER} FROM providers WHERE agb = ? AND branch = ?", (agb, branch)).fetchone()
        return _provider(row) if row else None

    def providers(self):
        return [_provider(r) for r in self._exec(f"SELECT {_PROVIDER} FROM providers ORDER BY agb, branch")]

    def deactivate_provider(self, agb, branch, on=None):
        return self._set_active(agb, branch, False, (on or dt.date.today()).isoformat())

    def activate_provider(self, agb, branch):
        return self._set_active(agb, branch, True, None)

    def _set_active(self, agb, branch, active, until):
        with self._transaction():
            pid = self._provider_id(agb, branch)
            self._exec("UPDATE providers SET active = ?, deactivated_at = ? WHERE id = ?", (active, until, pid))
        return self.provider(agb, branch)

    def notify_software_change(self, agb, branch, supplier=None, package=None, at=None):
        noticed_at = _now(at)
        with self._transaction():
            self._exec(
                "INSERT INTO software_notices (provider_id, supplier, package, noticed_at) VALUES (?, ?, ?, ?)",
                (self._provider_id(agb, branch), supplier, package, noticed_at),
            )
        return SoftwareNotice(agb, branch, supplier, package, _ts(noticed_at))

    def software_notices(self, agb, branch):
        rows = self._exec(
            "SELECT supplier, package, noticed_at FROM software_notices WHERE provider_id = ? ORDER BY noticed_at, id",
            (self._provider_id(agb, branch),),
        )
        return [SoftwareNotice(agb, branch, r[0], r[1], _ts(r[2])) for r in rows]

    def provider_settings(self, agb, branch):
        row = self._exec(
            "SELECT standard, supplier, package, delivery_id, fixed_at FROM provider_settings WHERE provider_id = ?",
            (self._provider_id(agb, branch),),
        ).fetchone()
        return ProviderSettings(row[0], row[1], row[2], row[3], _ts(row[4])) if row else None

    def fix_provider_settings(self, agb, branch, standard, supplier, package, delivery_id=None):
        with self._transaction():
            self._exec(
                "INSERT INTO provider_settings (provider_id, standard, supplier, package, delivery_id, fixed_at)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (provider_id) DO UPDATE SET standard = excluded.standard,"
                " supplier = excluded.supplier, package = excluded.package, delivery_id = excluded.delivery_id,"
                " fixed_at = excluded.fixed_at",
                (self._provider_id(agb, branch), standard, supplier, package, delivery_id, _now()),
            )
        return self.provider_settings(agb, branch)
