"""Values as the SQL store writes and reads them: timestamps, JSON, blob parts, rows into records.

Shared by `disval.core.store.sql` and the modules around it; one place for
how a value crosses the boundary to SQLite and PostgreSQL alike.
"""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Iterator

from .delivery_store import STATUSES, Delivery, Failure, Provider

BLOB_PART = 1 << 20


def _marks(values) -> str:
    return ", ".join("?" for _ in values)


def _typed(column, value):
    """A stored value as Python has it on either backend: dates as `datetime.date`."""
    if column.type == "D" and isinstance(value, str):
        return dt.date.fromisoformat(value)
    return value


def _check_status(status: str) -> None:
    if status not in STATUSES:
        raise ValueError(f"status must be one of {STATUSES}, not {status!r}")


def _now(at: dt.datetime | str | None = None) -> str:
    """A timestamp as both backends take it: ISO 8601 in UTC."""
    if isinstance(at, str):
        at = dt.datetime.fromisoformat(at)
    at = at or dt.datetime.now(dt.timezone.utc)
    if at.tzinfo is None:
        at = at.replace(tzinfo=dt.timezone.utc)
    return at.astimezone(dt.timezone.utc).isoformat()


def _ts(value) -> dt.datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value.astimezone(dt.timezone.utc)


def _date(value) -> dt.date | None:
    return dt.date.fromisoformat(value) if isinstance(value, str) else value


def _dumps(value) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _loads(value):
    return json.loads(value) if isinstance(value, (str, bytes)) else value


def _parts(content: bytes | Path) -> Iterator[bytes]:
    """The zip in parts of BLOB_PART bytes; at least one part, so that an empty zip is kept too."""
    if isinstance(content, (bytes, bytearray, memoryview)):
        data = bytes(content)
        yield from (data[i:i + BLOB_PART] for i in range(0, max(len(data), 1), BLOB_PART))
        return
    with Path(content).open("rb") as fh:
        part = fh.read(BLOB_PART)
        yield part
        while part := fh.read(BLOB_PART):
            yield part


def _provider(row) -> Provider:
    return Provider(row[0], row[1], row[2], row[3], bool(row[4]), _ts(row[5]), _date(row[6]))


def _delivery(row) -> Delivery:
    return Delivery(
        id=row[0], name=row[1], sha256=row[2], size=row[3], agb=row[4], branch=row[5], phase=row[6],
        created=_date(row[7]), sequence=row[8], standard=row[9], status=row[10], reasons=_loads(row[11]),
        assessment=row[12], counts=_loads(row[13]), imported=_loads(row[14]), packing_slip=_loads(row[15]),
        reports=_loads(row[16]), disval=row[17], submitted_at=_ts(row[18]), processed_at=_ts(row[19]),
        started_at=_ts(row[20]), validation=_loads(row[21]) or {},
        failure=Failure(row[22], row[23] or "", row[24] or "") if row[22] else None, attempts=row[25] or 0,
    )
