"""Uploads: size limits while the body streams in, and what can be checked at once.

An upload is streamed to a temporary file (python-multipart spools to disk
past 1 MiB), never held whole in memory, and refused with 413 as soon as it
passes the size limit. Then, before anything is kept, what can be checked at
once: the zip name (a name no installed standard claims, another provider's
name, the other phase), whether it is a readable zip at all and not a zip
bomb. What fails there is refused with a clear answer and nothing is stored;
what passes is kept and queued (`disval.core.gate.process.receive`), and the
gate decides the receipt as for any delivery. "Delivered before" is said at
once too, as a warning: the gate will reject it at receipt (ZIP-DUPLICATE).
"""
from __future__ import annotations

import hashlib
import logging
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath, PureWindowsPath

from ..pipeline import UnclaimedName, choose_standard
from ..reader import Limits
from ..workdir import readable_name

DEFAULT_MAX_UPLOAD = 2 << 30  # 2 GiB: a year of a large provider's deliveries is some hundreds of MiB
DEFAULT_MAX_REQUEST = 1 << 20  # any other request: forms and JSON are small
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
log = logging.getLogger("disval.portal")

# What an upload that failed unexpectedly is answered (500), by how far it got: only what is true.
NOT_KEPT = ("Something went wrong on the receiving side before your upload was kept: it was not kept. "
            "Send it again.")
MAYBE_KEPT = ("Something went wrong on the receiving side while your upload was being kept: it may or may not "
              "have been kept. Look for it among the provider's deliveries and send it again if it is not there "
              "(a second copy of one that was kept is only rejected as delivered before).")


class UploadFailed(Exception):
    """An upload failed on the receiving side, not for what was sent; `answer` says whether it was kept."""

    def __init__(self, answer: str):
        super().__init__(answer)
        self.answer = answer


def failed_upload(answer: str, where: str) -> UploadFailed:
    """Log the error being handled (with its traceback, for the operator) and make the answer for the sender."""
    log.exception("upload %s failed", where)
    return UploadFailed(answer)


class TooLarge(Exception):
    """The request body passed its limit."""


class BodyLimit:
    """ASGI middleware: bodies over `limit` bytes (uploads: `upload_limit`) get 413, read or declared."""

    def __init__(self, app, limit: int = DEFAULT_MAX_REQUEST, upload_limit: int = DEFAULT_MAX_UPLOAD,
                 upload_paths: re.Pattern = re.compile(r".*/(upload|deliveries)$")):
        self.app, self.limit, self.upload_limit, self.upload_paths = app, limit, upload_limit, upload_paths

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        limit = self.upload_limit if self.upload_paths.fullmatch(scope["path"]) else self.limit
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            return await _too_large(send, limit)
        seen, started = 0, False

        async def counted():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise TooLarge()
            return message

        async def watched(message):
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except TooLarge:
            if not started:
                await _too_large(send, limit)


async def _too_large(send, limit: int) -> None:
    body = f"The upload is larger than this portal accepts ({limit // (1 << 20)} MiB).".encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"), (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})


def safe_filename(raw: str | None) -> str:
    """The base name of an uploaded file's name: no directories, no control characters."""
    name = PureWindowsPath(PurePosixPath(raw or "").name).name  # "..\\x/y.zip" and "../y.zip" alike
    return _CONTROL.sub("", readable_name(name)).strip()


@dataclass
class Checked:
    """What was found at once: `refused` (a reason; nothing is kept) or notes to show with the delivery."""

    name: str
    refused: str | None = None
    notes: list[str] = field(default_factory=list)
    sha256: str | None = None


def check_upload(path: Path, name: str, agb: str, branch: str, phase: str | None, store, pm,
                 limits: Limits = Limits()) -> Checked:
    """Check an uploaded zip at once, before it is kept: its name, that it is a zip, not a bomb, new."""
    checked = Checked(name)
    if not name:
        checked.refused = "The file has no name. Upload the delivery zip under its GA name."
        return checked
    try:
        std = choose_standard(pm, name)
    except UnclaimedName:
        std = None
    parsed = std and std.naming.parse(name)
    if parsed is None:
        checked.refused = (f"The file name {name!r} does not follow the naming convention of the GA "
                           "(e.g. a test or production zip named with the AGB code, volgnr, creation date and "
                           "sequence number). Rename it as the GA prescribes and upload it again.")
        return checked
    if (parsed.provider, parsed.branch) != (agb, branch):
        checked.refused = (f"The file name is for provider {parsed.provider} {parsed.branch}, not for "
                           f"{agb} {branch}. Upload it for the provider it names.")
        return checked
    if phase is not None and parsed.phase != phase:
        checked.refused = (f"The file name says {parsed.phase.upper()} but {phase.upper()} was chosen. "
                           "The phase is part of the GA name: choose the phase the name says, or rename the zip.")
        return checked
    problem = _zip_problem(path, limits)
    if problem:
        checked.refused = problem
        return checked
    checked.sha256 = _sha256(path)
    before = store.already_delivered(name, checked.sha256)
    if before is not None:
        same = "name" if before.name == name else "content"
        checked.notes.append(f"A delivery with the same {same} was delivered before (delivery {before.id}, "
                             f"{before.status}): this one will be rejected at receipt.")
    checked.notes.append(f"Name, phase ({parsed.phase.upper()}) and provider are right; the file is a readable zip.")
    return checked


def _zip_problem(path: Path, limits: Limits) -> str | None:
    """Why the file is no zip the gate can open, or None."""
    try:
        with zipfile.ZipFile(path) as z:
            infos = z.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError):
        return "The file is not a readable zip. Make it again with an ordinary zip program and upload it again."
    if not infos:
        return "The zip is empty: put the GA's files in it."
    total = sum(i.file_size for i in infos)
    packed = sum(i.compress_size for i in infos)
    if total > limits.max_total_bytes or (total > (1 << 20) and total > limits.max_ratio * max(packed, 1)):
        return (f"The zip unpacks to {total} bytes from {packed}: more than this portal accepts "
                "(likely a zip bomb). Deliver only the GA's files.")
    return None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for part in iter(lambda: f.read(1 << 20), b""):
            digest.update(part)
    return digest.hexdigest()
