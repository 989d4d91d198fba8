"""Fixtures every test directory may use: a store of each kind, SQLite and PostgreSQL.

PostgreSQL comes from DISVAL_TEST_POSTGRES_URL (a server where that user may
CREATE DATABASE; `.ci/postgres.sh` starts one and prints the variable). When it
is unset, a throwaway server is started here from Debian's binaries
(/usr/lib/postgresql/*/bin), as the `postgres` user when running as root, on a
unix socket in a temporary directory, once per test session. When neither is
possible the postgresql tests skip and say why. Each test gets a database of
its own.
"""
from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import pytest

_CACHE = None


def pytest_configure(config):
    """Compiled rule books go to a cache of the session's own, not the user's (and are read from it,
    so that the suite runs the cached path too); a DISVAL_CACHE_DIR already set is kept."""
    global _CACHE
    if "DISVAL_CACHE_DIR" not in os.environ:
        _CACHE = tempfile.mkdtemp(prefix="disval-test-cache-")
        os.environ["DISVAL_CACHE_DIR"] = _CACHE


def pytest_unconfigure(config):
    if _CACHE is not None:
        os.environ.pop("DISVAL_CACHE_DIR", None)
        shutil.rmtree(_CACHE, ignore_errors=True)


def _major(initdb: str) -> int:
    """The major version in /usr/lib/postgresql/<major>/bin/initdb, to take the newest."""
    return int("0" + "".join(c for c in Path(initdb).parts[-3] if c.isdigit()))


def _start_postgres() -> tuple[str | None, object, str | None]:
    """(admin URL, stop function, None) or (None, None, why not)."""
    initdbs = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=_major)
    if not initdbs:
        return None, None, (
            "no PostgreSQL server binaries (/usr/lib/postgresql/*/bin/initdb): set DISVAL_TEST_POSTGRES_URL, "
            "or run `eval \"$(bash .ci/postgres.sh)\"` first"
        )
    bindir = Path(initdbs[-1]).parent
    run_as: list[str] = []
    root = tempfile.mkdtemp(prefix="disval-pg-")  # short: a unix socket path has ~100 bytes
    if os.geteuid() == 0:  # the server refuses to run as root
        runuser = shutil.which("runuser")
        try:
            account = pwd.getpwnam("postgres")
        except KeyError:
            account = None
        if runuser is None or account is None:
            shutil.rmtree(root, ignore_errors=True)
            return None, None, "running as root, and no `postgres` user and runuser to start a server as"
        os.chown(root, account.pw_uid, account.pw_gid)
        run_as = [runuser, "-u", "postgres", "--"]
    data = f"{root}/data"
    pg_ctl = [*run_as, str(bindir / "pg_ctl"), "-D", data]
    try:
        subprocess.run(
            [*run_as, str(bindir / "initdb"), "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"],
            check=True, capture_output=True, text=True, timeout=120,
        )
        subprocess.run(
            [*pg_ctl, "-l", f"{root}/server.log", "-w", "-t", "60",
             "-o", f"-k {root} -c listen_addresses='' -c fsync=off", "start"],
            check=True, capture_output=True, text=True, timeout=90,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        detail = getattr(exc, "stderr", None) or str(exc)
        shutil.rmtree(root, ignore_errors=True)
        return None, None, f"could not start a throwaway PostgreSQL server: {detail.strip()[-300:]}"

    def stop():
        subprocess.run([*pg_ctl, "-m", "immediate", "stop"], capture_output=True, timeout=60)
        shutil.rmtree(root, ignore_errors=True)

    return f"postgresql:///postgres?host={root}&user=postgres", stop, None


@pytest.fixture(scope="session")
def postgres_server():
    """(admin URL, None), or (None, the reason the postgresql tests skip)."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        yield None, "psycopg is not installed: pip install 'disval[postgresql]'"
        return
    configured = os.environ.get("DISVAL_TEST_POSTGRES_URL")
    if configured:
        yield configured, None
        return
    url, stop, reason = _start_postgres()
    yield url, reason
    if stop:
        stop()


@pytest.fixture
def fresh_pg_url(postgres_server):
    """The URL of a new, empty PostgreSQL database on the test server (dropped afterwards); skips without one."""
    admin, reason = postgres_server
    if admin is None:
        pytest.skip(reason)
    import psycopg

    name = f"disval_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    parts = urlsplit(admin)  # the same server, another database (urlunsplit would drop an empty host)
    yield f"{parts.scheme}://{parts.netloc}/{name}" + (f"?{parts.query}" if parts.query else "")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request, tmp_path):
    """The URL of a new, empty store of each kind."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/disval.db"
    return request.getfixturevalue("fresh_pg_url")


@pytest.fixture(scope="session")
def nza_dir() -> Path:
    """The real NZa publications (../shared/nza beside the repository, or DISVAL_NZA_DIR); skips when absent.

    They are read from there and never copied into the repository (see that directory's README).
    """
    path = Path(os.environ.get("DISVAL_NZA_DIR") or Path(__file__).resolve().parents[1] / ".." / "shared" / "nza")
    if not path.is_dir():
        pytest.skip(f"the NZa publications are not at {path} (set DISVAL_NZA_DIR to where they are)")
    return path.resolve()
