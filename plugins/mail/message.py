"""The two mails a provider's data managers get about a delivery: at receipt and after processing.

What a mail may say is deliberately narrow, because mail leaves the
receiving side's control: the zip name, the provider (AGB code and volgnr),
the phase, the status and the assessment in plain words, record and finding
counts per file and severity, the ids of the receipt criteria it failed, and
a link to the delivery page where a logged-in user sees the rest. Never a
record value, a koppelnummer or another identifying field, never a finding's
message (which may quote a value): the reports stay behind the login.
"""
from __future__ import annotations

import datetime as dt
import email.policy
import re
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from ...core.store.delivery_store import Delivery
from .settings import MailSettings

# status -> (Dutch, English), in the words the portal's timeline uses
STATUS_WORDS = {
    "queued": ("in de wachtrij", "queued"),
    "validating": ("wordt gevalideerd", "being validated"),
    "rejected": ("afgewezen bij ontvangst", "rejected at receipt"),
    "discarded": ("niet verwerkt (vervallen)", "discarded"),
    "assessed_negative": ("negatief beoordeeld", "assessed negative"),
    "accepted": ("geaccepteerd", "accepted"),
    "imported": ("geaccepteerd en ingelezen", "accepted and imported"),
    "failed": ("verwerking mislukt (de beheerder is op de hoogte)", "processing failed (the operator can see why)"),
}
PHASE_WORDS = {"test": ("TEST (aansluitfase)", "TEST (connect phase)"),
               "production": ("productie", "production")}

TEXT = {
    "received_subject": ("Aanlevering {name} ontvangen", "Delivery {name} received"),
    "processed_subject": ("Aanlevering {name}: {status}", "Delivery {name}: {status}"),
    "received_intro": (
        "Uw aanlevering {name} voor zorgaanbieder {provider} is ontvangen op {when} en staat in de wachtrij "
        "voor verwerking. U krijgt nog een bericht zodra ze verwerkt is.",
        "Your delivery {name} for provider {provider} was received on {when} and is queued for processing. "
        "You will get another message when it has been processed."),
    "processed_intro": ("Uw aanlevering {name} voor zorgaanbieder {provider} is verwerkt op {when}.",
                        "Your delivery {name} for provider {provider} was processed on {when}."),
    "phase": ("Fase", "Phase"),
    "size": ("Grootte", "Size"),
    "status": ("Status", "Status"),
    "assessment": ("Beoordeling", "Assessment"),
    "positive": ("positief", "positive"),
    "negative": ("negatief", "negative"),
    "records": ("Records gelezen", "Records read"),
    "findings": ("Bevindingen", "Findings"),
    "no_findings": ("geen", "none"),
    "imported": ("Records ingelezen", "Records imported"),
    "reasons": ("Afgewezen op", "Rejected for"),
    "see": ("Bekijk de aanlevering, de beoordeling en de rapporten (na inloggen):",
            "See the delivery, its assessment and the reports (after logging in):"),
    "footer": ("Dit bericht bevat geen patiëntgegevens; de rapporten staan in het portaal.",
               "This message holds no patient data; the reports are in the portal."),
    "bytes": ("bytes", "bytes"),
}

# Headers as long as RFC 5322 allows: a subject with a zip name in it is then one line, not folded
# before its first word (which some mail readers show as a leading blank).
_POLICY = email.policy.default.clone(max_line_length=998)

# A receipt reason is kept as 'ID: message (where, value ...)'; only the id goes into a mail.
_REASON_ID = re.compile(r"^([A-Z]+(?:-[A-Z]+)*|\d{3,5})(?=:|$)")


def delivery_path(delivery_id: int) -> str:
    """The portal's page of a delivery, as a path (the link in every mail)."""
    return f"/deliveries/{delivery_id}"


def compose(event: str, delivery: Delivery, settings: MailSettings, recipients: list[str],
            path: str | None = None) -> EmailMessage:
    """The mail about `event` ("received" or "processed") of `delivery` to `recipients`.

    `path` is the delivery page (default `delivery_path(delivery.id)`); the link is made absolute
    with `settings.public_url`.
    """
    if event not in ("received", "processed"):
        raise ValueError(f"no mail for event {event!r}")
    lang = 0 if settings.lang == "nl" else 1
    t = {key: words[lang] for key, words in TEXT.items()}
    name = _printable(delivery.name)
    provider = f"{delivery.agb or '?'} {delivery.branch or '?'}"
    status = STATUS_WORDS.get(delivery.status, (delivery.status, delivery.status))[lang]
    link = settings.link(path or delivery_path(delivery.id))
    lines = []
    if event == "received":
        subject = t["received_subject"].format(name=name)
        lines.append(t["received_intro"].format(name=name, provider=provider, when=_when(delivery.submitted_at)))
        lines.append("")
        lines += _facts(t, lang, delivery, show_outcome=False)
    else:
        subject = t["processed_subject"].format(name=name, status=status)
        lines.append(t["processed_intro"].format(name=name, provider=provider,
                                                 when=_when(delivery.processed_at or delivery.submitted_at)))
        lines.append("")
        lines += _facts(t, lang, delivery, show_outcome=True)
    lines += ["", t["see"], link, "", "-- ", t["footer"]]
    msg = EmailMessage(policy=_POLICY)
    msg["Subject"] = subject
    msg["From"] = settings.sender
    msg["To"] = ", ".join(recipients)
    msg["Date"] = formatdate(localtime=False, usegmt=True)
    domain = _domain(settings.sender)
    # The processed mail answers the received one, so a mail reader shows the two as one thread.
    thread = f"<disval.delivery.{delivery.id}.{delivery.sha256[:16]}@{domain}>"
    if event == "received":
        msg["Message-ID"] = thread
    else:
        msg["Message-ID"] = make_msgid(idstring="disval.processed", domain=domain)
        msg["In-Reply-To"] = thread
        msg["References"] = thread
    msg["X-Disval-Delivery"] = str(delivery.id)
    msg["X-Disval-Event"] = event
    msg.set_content("\n".join(lines) + "\n", charset="utf-8")
    return msg


def _facts(t: dict, lang: int, d: Delivery, show_outcome: bool) -> list[str]:
    out = []
    if d.phase:
        out.append(f"{t['phase']}: {PHASE_WORDS.get(d.phase, (d.phase, d.phase))[lang]}")
    out.append(f"{t['size']}: {d.size:,} {t['bytes']}".replace(",", "." if lang == 0 else ","))
    if not show_outcome:
        return out
    out.append(f"{t['status']}: {STATUS_WORDS.get(d.status, (d.status, d.status))[lang]}")
    if d.assessment in ("positive", "negative"):
        out.append(f"{t['assessment']}: {t[d.assessment]}")
    reasons = sorted({m.group(1) for r in d.reasons if (m := _REASON_ID.match(str(r)))})
    if reasons:
        out.append(f"{t['reasons']}: {', '.join(reasons)}")
    records = (d.counts or {}).get("records") or {}
    if records:
        out.append(f"{t['records']}: " + ", ".join(f"{_printable(f)} {int(n)}" for f, n in records.items()))
    findings = (d.counts or {}).get("findings")
    if findings is not None and d.status not in ("rejected", "discarded"):
        out.append(f"{t['findings']}: " + (", ".join(f"{int(n)} {_printable(sev)}" for sev, n in findings.items()
                                                      if n) or t["no_findings"]))
    if d.imported:
        out.append(f"{t['imported']}: " + ", ".join(f"{_printable(f)} {int(n)}" for f, n in d.imported.items()))
    return out


def _when(moment: dt.datetime | None) -> str:
    if moment is None:
        return "?"
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.timezone.utc)
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def _printable(text) -> str:
    """`text` (from a delivery: a zip or member name) without control characters that could forge headers."""
    return "".join(c if c.isprintable() else "?" for c in str(text))[:200]


def _domain(address: str) -> str:
    return address.rpartition("@")[2].strip(" >") or "localhost"
