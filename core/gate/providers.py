"""The provider commands of the gate: register, list, deactivate, activate, note a software change."""
from __future__ import annotations

import json

from tabulate import tabulate

from ..pipeline import UsageError


def provider_add(args, store) -> int:
    """`disval provider add`: register a provider and its account."""
    p = store.add_provider(args.agb, args.branch, args.user, args.name)
    print(f"registered {p.agb} {p.branch} ({p.name or 'no name'}), user {p.username}")
    return 0


def provider_list(args, store) -> int:
    """`disval provider list`: every provider, its account and connect-phase settings (table or JSON)."""
    rows = []
    for p in store.providers():
        s = store.provider_settings(p.agb, p.branch)
        rows.append({"agb": p.agb, "branch": p.branch, "user": p.username, "name": p.name, "active": p.active,
                     "deactivated_on": p.deactivated_at.isoformat() if p.deactivated_at else None,
                     "phase": "production" if s else "connect", "standard": s and s.standard,
                     "supplier": s and s.supplier, "package": s and s.package})
    if args.format == "json":
        print(json.dumps({"providers": rows}, ensure_ascii=False, indent=2))
    else:
        print(tabulate([[r["agb"], r["branch"], r["user"], r["name"], "yes" if r["active"] else "no", r["phase"],
                         r["standard"] or "", r["supplier"] or "", r["package"] or ""] for r in rows],
                       headers=["agb", "ii", "user", "name", "active", "phase", "standard", "supplier", "package"]))
    return 0


def provider_deactivate(args, store) -> int:
    """`disval provider deactivate`: the account is invalid from the given day."""
    p = store.deactivate_provider(args.agb, args.branch, args.on)
    print(f"deactivated {p.agb} {p.branch}; its account is invalid from {p.deactivated_at}")
    return 0


def provider_activate(args, store) -> int:
    """`disval provider activate`: the account is valid again."""
    p = store.activate_provider(args.agb, args.branch)
    print(f"activated {p.agb} {p.branch}")
    return 0


def provider_notice(args, store) -> int:
    """`disval provider notice`: record a change of software supplier or package."""
    if not (args.supplier or args.package):
        raise UsageError("say what changes: --supplier, --package or both")
    n = store.notify_software_change(args.agb, args.branch, args.supplier, args.package)
    print(f"registered a software change for {n.agb} {n.branch} at {n.noticed_at:%Y-%m-%d %H:%M:%S} UTC")
    return 0
