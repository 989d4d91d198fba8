"""The receipt criteria (ontvangstcriteria, GA §4.3.2 and §6.2.2): may a delivery be processed at all?

Each criterion rejects under an id of its own, so that a provider's software
can tell them apart:

1. the zip and its name are technically correct: ZIP-NAME, ZIP-UNREADABLE,
   ZIP-EMPTY, ZIP-ENCRYPTED, ZIP-PATH, ZIP-BOMB (from the reader; a member
   that turns out unreadable while validating rejects too);
2. the provider is known (ZIP-CUSTOMER-UNKNOWN) and active (ZIP-CUSTOMER-INACTIVE);
3. it was not delivered before, by name or by content (ZIP-DUPLICATE);
4. its creation date + sequence number come after those of the provider's last
   received delivery of the same phase (ZIP-ORDER);
5. the packing slip is correct: see `packing_slip_rules`. These are numbered
   rules, so they can only be decided while validating, and they reject under
   their own numbers.

A production delivery must moreover match the technical settings that the
provider's connect phase fixed (`contract`, ZIP-CONTRACT). That is the
production phase's own check ("declined for technical reasons"), not one of
§4.3.2's, so a decline does not discard the deliveries queued behind it: the
TEST delivery that would put things right may well be one of them.
"""
from __future__ import annotations

from pathlib import Path

from ..findings import ZIP_LEVEL, Finding
from ..language import ast
from ..language import compiler as c
from ..reader import open_delivery, zip_finding
from ..standard import Standard
from ..store.delivery_store import Delivery, DeliveryStore

TECHNICAL = ("ZIP-NAME", "ZIP-UNREADABLE", "ZIP-EMPTY", "ZIP-ENCRYPTED", "ZIP-PATH", "ZIP-BOMB")


def technical(findings: list[Finding]) -> list[Finding]:
    """The findings that make a zip technically incorrect (criterion 1)."""
    return [f for f in findings if f.rule in TECHNICAL]


def before_validation(store: DeliveryStore, d: Delivery, path: Path, standard: Standard) -> list[Finding]:
    """Criteria 1-4, which need no more than the zip's directory, its name and the store."""
    with open_delivery(path, standard) as opened:
        reasons = technical(opened.findings)
    if d.agb is None:  # no name to take a provider from: ZIP-NAME says why
        return reasons
    provider = store.provider(d.agb, d.branch)
    if provider is None:
        return reasons + [zip_finding("ZIP-CUSTOMER-UNKNOWN", value=f"{d.agb} {d.branch}", detail=(
            f"AGB code {d.agb} with instelling volgnr {d.branch} is not registered; "
            f"register it with: disval provider add {d.agb} {d.branch} --user USER --name NAME"))]
    if not provider.active:
        reasons.append(zip_finding("ZIP-CUSTOMER-INACTIVE", value=f"{d.agb} {d.branch}",
                                   detail=f"provider {d.agb} {d.branch} was deactivated"))
    earlier = store.already_delivered(d.name, d.sha256, exclude=d.id, received=True)
    if earlier is not None:
        how = "the same name" if earlier.name == d.name else f"the same content as {earlier.name}"
        reasons.append(zip_finding("ZIP-DUPLICATE", value=d.name, detail=(
            f"{how}: delivery {earlier.id}, {earlier.status}")))
        return reasons
    last = store.last_accepted(d.agb, d.branch, phase=d.phase)
    if last is not None and d.order <= last.order:
        reasons.append(zip_finding("ZIP-ORDER", value=d.name, detail=(
            f"creation date {d.created:%Y%m%d} and sequence number {d.sequence} do not come after "
            f"{last.created:%Y%m%d} {last.sequence} of {last.name}, the last {d.phase} delivery received")))
    return reasons


def contract(store: DeliveryStore, d: Delivery, standard: Standard) -> list[Finding]:
    """A production delivery needs technical settings fixed by a positive connect delivery of its standard."""
    settings = store.provider_settings(d.agb, d.branch)
    if settings is None:
        return [zip_finding("ZIP-CONTRACT", value=d.name, detail=(
            f"provider {d.agb} {d.branch} is still in the connect phase: its technical settings are fixed by "
            "its first TEST delivery that is assessed positive; deliver that before a PROD delivery"))]
    if settings.standard != standard.id:
        return [zip_finding("ZIP-CONTRACT", value=d.name, detail=(
            f"the provider's technical settings were fixed for {settings.standard}, this delivery follows "
            f"{standard.id}: a new release of the standard puts the provider back in the connect phase; deliver "
            f"a TEST delivery under {standard.id} that is assessed positive first"))]
    return []


def packing_slip_rules(book: c.RuleBook) -> frozenset[str]:
    """The rules whose findings mean "the packing slip is not correct" (criterion 5).

    Derived from the rules themselves, so that any standard with a packing
    slip gets the same treatment. For GA OHW-GBG 1.0 that is:

    - the packing slip is there, once (726 and 738, when they name it), and is
      one record (1654) of the right length (1653);
    - every field is filled and well formed: the ERR rules of type M and S on
      its fields (1793, 1787, 1798, 1789, 1782, 1803, 1805, 1821, 1792, 1802,
      1804, 1799, 1783, 1795, 1784, 1796, 1811); WRN 1788 only warns;
    - it agrees with the zip name: the rules comparing a field with a part of
      the name (1791, 1790, 1814, 1781, 1806, 1807).

    Not among them: the record counts (1642, 1651, 1816, 1817), which are
    completeness, a processing criterion (§4.3.3.2), and the rules that need
    history (1812, 1813, 1819), which the issue makes validations.
    """
    slip = book.standard.layout.packing_slip
    if slip is None:
        return frozenset()
    numbers = set()
    for rule in book.rules:
        if rule.kind == c.MEMBER and rule.check in ("missing", "duplicated"):
            numbers.add(rule.number)  # only their findings on the packing slip count: see packing_slip()
        elif rule.file != slip.name or rule.rule.severity != "ERR":
            continue
        elif rule.kind in (c.LENGTH, c.FILE):
            numbers.add(rule.number)
        elif rule.kind == c.RECORD and (rule.rule.type in ("M", "S") or _against_zip_name(rule.rule.violation)):
            numbers.add(rule.number)
    return frozenset(numbers)


def packing_slip(findings: list[Finding], book: c.RuleBook) -> list[Finding]:
    """The findings by which the packing slip is not correct."""
    slip = book.standard.layout.packing_slip
    if slip is None:
        return []
    rules = packing_slip_rules(book)
    members = {r.number for r in book.rules if r.kind == c.MEMBER}
    return [f for f in findings if f.rule in rules
            and (f.rule not in members or (f.file or "").lower() == slip.name.lower())]


def _against_zip_name(violation) -> bool:
    return isinstance(violation, ast.Comparison) and any(
        isinstance(side, ast.ZipPart) for side in (violation.left, violation.right))


# ---------------------------------------------------------------- reasons as the store keeps them


def as_reason(finding: Finding) -> str:
    """A finding as one line of `Delivery.reasons`: 'ID: message', with where and what for numbered rules."""
    message = finding.message
    if not finding.rule.startswith("ZIP-"):
        where = finding.file + (f" line {finding.line}" if finding.line else "") if finding.file else ""
        value = f", value {finding.value!r}" if finding.value and finding.value.strip() else ""
        message += f" ({where}{value})" if where or value else ""
    return f"{finding.rule}: {message}"


def from_reason(reason: str) -> Finding:
    """A line of `Delivery.reasons` as a zip-level finding again."""
    rule, _, message = reason.partition(": ")
    return Finding(rule=rule, type="V", severity="ERR", file=None, line=None, column=None, ddid=None, value=None,
                   message=message or ZIP_LEVEL.get(rule, rule))
