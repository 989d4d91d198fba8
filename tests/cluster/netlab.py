"""A small cluster on one machine: PostgreSQL in a network namespace of its own, each worker in another.

Used by the worker benchmark (tests/bench/workers_benchmark.py) and the kill/network-loss tests
(tests/cluster/). Needs root, iproute2's `ip` and the Debian PostgreSQL server binaries
(/usr/lib/postgresql/*/bin); `why_not()` says which is missing, for a skip.

Layout. A namespace `<tag>-pg` runs the server; worker slot i gets a namespace `<tag>-w<i>` and a
veth pair straight into the server's namespace, 10.231.<i>.1/30 on the server's side and
10.231.<i>.2/30 on the worker's: private addresses only, nothing routed, nothing on the host's own
interfaces. Taking the worker's end down (`cut`) cuts exactly that worker off the database. The
server also listens on a unix socket in a directory on disk; sockets on the file system are not
separated by network namespaces, so the driver (in the host's namespace) reaches the server
through it.

The server is told to notice dead clients within seconds (TCP keepalives, tcp_user_timeout,
client_connection_check_interval): the session of a worker cut off mid-job holds its provider's
advisory lock until the server closes it, and by default that takes the kernel's two hours.
Workers' URLs carry libpq's keepalive settings too, so that a cut-off worker learns of it.

CPU: with cgroups v1 writable (/sys/fs/cgroup/cpu), each slot gets a cgroup with a CFS quota
(`cpu_cores` cores); otherwise `quota_mode` says "none" and the workers run unlimited.

Everything made is removed by `close()` (also on an error half-way through `start()`): processes
killed, server stopped, namespaces (and with them the veths) and cgroups deleted.
"""
from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

CGROUP_CPU = Path("/sys/fs/cgroup/cpu")
PERIOD_US = 100_000
# Server settings that make a cut-off client's session (and its advisory locks) go within seconds.
DEAD_CLIENT_SETTINGS = {
    "tcp_keepalives_idle": "2", "tcp_keepalives_interval": "1", "tcp_keepalives_count": "3",
    "tcp_user_timeout": "6000", "client_connection_check_interval": "1000",
}
# The same on the worker's side (libpq connection parameters).
CLIENT_KEEPALIVES = "keepalives=1&keepalives_idle=2&keepalives_interval=1&keepalives_count=3&tcp_user_timeout=6000"


def _server_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int("0" + "".join(c for c in Path(p).parts[-3] if c.isdigit())))
    return Path(found[-1]).parent if found else None


def why_not() -> str | None:
    """Why a lab cannot be made here (for a skip), or None when it can."""
    if os.geteuid() != 0:
        return "network namespaces need root"
    if shutil.which("ip") is None:
        return "no `ip` (iproute2) to make network namespaces with"
    if shutil.which("runuser") is None:
        return "no runuser to start PostgreSQL as the postgres user"
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        return "no postgres user to run the server as"
    if _server_bin() is None:
        return "no PostgreSQL server binaries (/usr/lib/postgresql/*/bin)"
    probe = f"dvprobe{os.getpid()}"
    made = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
    if made.returncode != 0:
        return f"cannot make a network namespace: {made.stderr.strip()}"
    subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    return None


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30)
    if check and done.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {done.stderr.strip()}")
    return done


class Lab:
    """PostgreSQL in a namespace, and worker slots (namespace + veth + cgroup) to run processes in."""

    def __init__(self, tag: str | None = None, database: str = "disval"):
        # Short: interface names have at most 15 characters ("<tag>w<i>s").
        self.tag = tag or f"dv{os.getpid() % 100000}"
        self.database = database
        self.root = Path(tempfile.mkdtemp(prefix=f"disval-{self.tag}-"))
        self.pg_ns = f"{self.tag}-pg"
        self.namespaces: list[str] = []
        self.cgroups: list[Path] = []
        self.processes: list[subprocess.Popen] = []
        self.slots: dict[int, str] = {}  # slot -> namespace
        self.quota_mode = "none"
        self._bin = _server_bin()
        self._server_started = False

    # --- the server -------------------------------------------------------------------------------
    def start(self, max_connections: int = 200) -> "Lab":
        """Make the server's namespace and start PostgreSQL in it; `close()` on any failure."""
        try:
            self._start(max_connections)
        except BaseException:
            self.close()
            raise
        return self

    def _start(self, max_connections: int) -> None:
        _ip("netns", "add", self.pg_ns)
        self.namespaces.append(self.pg_ns)
        _ip("-n", self.pg_ns, "link", "set", "lo", "up")
        account = pwd.getpwnam("postgres")
        os.chown(self.root, account.pw_uid, account.pw_gid)
        as_pg = ["runuser", "-u", "postgres", "--"]
        data = self.root / "data"
        subprocess.run([*as_pg, str(self._bin / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
                        "-E", "UTF8", "--no-sync"], check=True, capture_output=True, timeout=120)
        with open(data / "pg_hba.conf", "a") as hba:  # the workers' side of every veth pair
            hba.write("host all all 10.231.0.0/16 trust\n")
        options = {"listen_addresses": "'*'", "fsync": "off", "max_connections": str(max_connections),
                   "unix_socket_directories": f"'{self.root}'", **DEAD_CLIENT_SETTINGS}
        opts = " ".join(f"-c {k}={v}" for k, v in options.items())
        subprocess.run(["ip", "netns", "exec", self.pg_ns, *as_pg, str(self._bin / "pg_ctl"), "-D", str(data),
                        "-l", str(self.root / "server.log"), "-w", "-t", "60", "-o", opts, "start"],
                       check=True, capture_output=True, timeout=90)
        self._server_started = True
        import psycopg

        with psycopg.connect(self.admin_url("postgres"), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self.database}"')

    def admin_url(self, database: str | None = None) -> str:
        """The server over its unix socket (from the host's namespace)."""
        return f"postgresql:///{database or self.database}?host={self.root}&user=postgres"

    def worker_url(self, slot: int, database: str | None = None) -> str:
        """The server as worker slot `slot` reaches it: TCP over its veth, with client keepalives."""
        return (f"postgresql://postgres@10.231.{slot}.1:5432/{database or self.database}"
                f"?{CLIENT_KEEPALIVES}&connect_timeout=5")

    def create_database(self, name: str) -> None:
        """Another (empty) database on the server."""
        import psycopg

        with psycopg.connect(self.admin_url("postgres"), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')

    # --- worker slots -----------------------------------------------------------------------------
    def add_slot(self, slot: int, cpu_cores: float | None = None) -> str:
        """Make worker slot `slot` (1..254): its namespace, its veth to the server, its CPU cgroup."""
        if not 1 <= slot <= 254:
            raise ValueError(f"slot {slot}: 1..254")
        ns = f"{self.tag}-w{slot}"
        _ip("netns", "add", ns)
        self.namespaces.append(ns)
        server_end, worker_end = f"{self.tag}s{slot}", f"{self.tag}w{slot}"
        _ip("link", "add", server_end, "type", "veth", "peer", "name", worker_end)
        _ip("link", "set", server_end, "netns", self.pg_ns)
        _ip("link", "set", worker_end, "netns", ns)
        _ip("-n", self.pg_ns, "addr", "add", f"10.231.{slot}.1/30", "dev", server_end)
        _ip("-n", ns, "addr", "add", f"10.231.{slot}.2/30", "dev", worker_end)
        _ip("-n", self.pg_ns, "link", "set", server_end, "up")
        _ip("-n", ns, "link", "set", worker_end, "up")
        _ip("-n", ns, "link", "set", "lo", "up")
        self.slots[slot] = ns
        if cpu_cores is not None:
            self._cgroup(slot, cpu_cores)
        return ns

    def set_quota(self, slot: int, cores: float | None) -> None:
        """Give slot `slot` `cores` CPU cores from now on (None: no limit); its next process gets it."""
        if cores is None:
            path = CGROUP_CPU / f"disval-{self.tag}-w{slot}"
            if path in self.cgroups:
                (path / "cpu.cfs_quota_us").write_text("-1")
            return
        self._cgroup(slot, cores)

    def _cgroup(self, slot: int, cores: float) -> None:
        path = CGROUP_CPU / f"disval-{self.tag}-w{slot}"
        try:
            path.mkdir(exist_ok=True)
            if path not in self.cgroups:
                self.cgroups.append(path)
            (path / "cpu.cfs_period_us").write_text(str(PERIOD_US))
            (path / "cpu.cfs_quota_us").write_text(str(max(1000, int(PERIOD_US * cores))))
            self.quota_mode = "cgroup v1 cpu.cfs_quota_us"
        except OSError:
            self.quota_mode = "none (cgroups not writable)"

    def cut(self, slot: int) -> None:
        """Take worker slot `slot`'s end of its veth down: the worker loses the database."""
        _ip("-n", self.slots[slot], "link", "set", f"{self.tag}w{slot}", "down")

    def mend(self, slot: int) -> None:
        """Bring it back up."""
        _ip("-n", self.slots[slot], "link", "set", f"{self.tag}w{slot}", "up")

    def spawn(self, slot: int, argv: list[str], *, env: dict | None = None, log: Path | None = None,
              ) -> subprocess.Popen:
        """Run `argv` in slot `slot`'s namespace and cgroup; stdout and stderr to `log` (else discarded)."""
        cgroup = CGROUP_CPU / f"disval-{self.tag}-w{slot}"
        procs = cgroup / "cgroup.procs" if cgroup in self.cgroups else None

        def enter():  # in the child, before exec: its descendants stay in the cgroup
            os.setsid()
            if procs is not None:
                procs.write_text(str(os.getpid()))

        out = open(log, "ab") if log else subprocess.DEVNULL
        try:
            proc = subprocess.Popen(["ip", "netns", "exec", self.slots[slot], *argv], env=env, stdout=out,
                                    stderr=subprocess.STDOUT, preexec_fn=enter)
        finally:
            if log:
                out.close()
        self.processes.append(proc)
        return proc

    # --- teardown ---------------------------------------------------------------------------------
    def close(self) -> None:
        """Kill what was spawned, stop the server, delete namespaces and cgroups; safe to call twice."""
        for proc in self.processes:
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)  # its own session: the worker and what it started
                except ProcessLookupError:
                    pass
        for proc in self.processes:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        self.processes.clear()
        if self._server_started:
            subprocess.run(["runuser", "-u", "postgres", "--", str(self._bin / "pg_ctl"), "-D",
                            str(self.root / "data"), "-m", "immediate", "-w", "stop"], capture_output=True,
                           timeout=60)
            self._server_started = False
        for path in self.cgroups:
            self._empty_cgroup(path)
        self.cgroups.clear()
        for ns in reversed(self.namespaces):
            _ip("netns", "del", ns, check=False)
        self.namespaces.clear()
        shutil.rmtree(self.root, ignore_errors=True)

    @staticmethod
    def _empty_cgroup(path: Path) -> None:
        for _ in range(50):
            try:
                left = (path / "cgroup.procs").read_text().split()
            except OSError:
                return
            for pid in left:
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except ProcessLookupError:
                    pass
            try:
                path.rmdir()
                return
            except OSError:
                time.sleep(0.1)

    def __enter__(self) -> "Lab":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()
