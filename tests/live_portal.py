"""`disval serve` for real: a child process listening on 127.0.0.1, for the browser tests and the benchmark.

    with LivePortal(store_url, workdir, mail_port=smtp.port) as portal:
        portal.add_provider("94001234", "00")
        portal.add_user("dm", provider=("94001234", "00"), role="data_manager", email="dm@praktijk.example")
        token = portal.token("94001234", "00")
        ... portal.url ...

The child stops by itself when the process that started it goes away (a
thread in it watches its parent), so a test run that is killed leaves no
server behind; `stop()` (or leaving the `with`) ends it at once.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from smtp_catcher import free_port

PASSWORD = "a long enough password"
SECRET = "s" * 48

# Runs `disval serve` in the child, with a thread that ends it when its parent is gone.
_CHILD = """
import os, sys, threading, time
parent = os.getppid()
def watch():
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(3)
threading.Thread(target=watch, daemon=True).start()
from disval.core.cli import main
sys.exit(main(sys.argv[1:]))
"""


class LivePortal:
    """A `disval serve` child process on a free port of 127.0.0.1, with the CLI to set up its accounts."""

    def __init__(self, store_url: str, workdir: Path, *, mail_port: int | None = None, extra: tuple = (),
                 env: dict | None = None, workers: int | None = None):
        self.store_url, self.workdir = store_url, Path(workdir)
        # A PostgreSQL store's uploads are processed by `disval worker`s, not by `disval serve`: one by default.
        self.workers = (1 if store_url.startswith("postgresql") else 0) if workers is None else workers
        self.worker_processes: list[subprocess.Popen] = []
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.mail_port, self.extra = mail_port, list(extra)
        self.env = {**os.environ, "DISVAL_CONFIG": str(self._config()), **(env or {})}
        self.process: subprocess.Popen | None = None
        self.log = self.workdir / f"serve-{self.port}.log"

    def _config(self) -> Path:
        # No configuration file of the developer's may change what the tests see.
        self.workdir.mkdir(parents=True, exist_ok=True)
        path = self.workdir / "disval.toml"
        path.write_text("", encoding="utf-8")
        return path

    # ---------------------------------------------------------------- the accounts, through the CLI

    def disval(self, *args: str, stdin: str | None = None) -> str:
        """Run `disval ARGS --store URL`; its stdout. AssertionError with stderr when it fails."""
        done = subprocess.run([sys.executable, "-m", "disval.core.cli", *args, "--store", self.store_url],
                              input=stdin, capture_output=True, text=True, env=self.env, timeout=120)
        assert done.returncode == 0, f"disval {' '.join(args)}: {done.stderr}"
        return done.stdout

    def add_provider(self, agb: str, branch: str = "00") -> None:
        """Register the provider with the user name its generated packing slips carry."""
        self.disval("provider", "add", agb, branch, "--user", f"gbg{agb}", "--name", f"Praktijk {agb}")

    def add_user(self, login: str, *, provider=None, role: str | None = None, email: str = "",
                 operator: bool = False) -> None:
        """Create a portal user with PASSWORD (and a role for `provider`)."""
        args = ["user", "add", login, "--password-stdin", "--email", email]
        if provider:
            args += ["--provider", *provider, "--role", role]
        if operator:
            args.append("--operator")
        self.disval(*args, stdin=PASSWORD + "\n")

    def token(self, agb: str, branch: str = "00", scope: str = "upload,read") -> str:
        """A new API token of the provider (printed once by `disval token create`)."""
        return self.disval("token", "create", agb, branch, "--scope", scope).strip()

    # ---------------------------------------------------------------- the server

    def start(self, timeout: float = 60.0) -> "LivePortal":
        """Start `disval serve` and wait until it answers."""
        args = ["serve", "--store", self.store_url, "--host", "127.0.0.1", "--port", str(self.port),
                "--secret-key", SECRET, "--no-require-real-codelists", "--base-url", self.url, *self.extra]
        args += self._mail_args()
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen([sys.executable, "-c", _CHILD, *args], stdout=log,
                                            stderr=subprocess.STDOUT, env=self.env)
        for n in range(self.workers):
            with open(self.workdir / f"worker-{self.port}-{n}.log", "wb") as log:
                self.worker_processes.append(subprocess.Popen(
                    [sys.executable, "-c", _CHILD, "worker", "--store", self.store_url, "--sweep-interval", "5",
                     "--heartbeat-timeout", "10", "--base-url", self.url, *self._mail_args()],
                    stdout=log, stderr=subprocess.STDOUT, env=self.env))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"disval serve exited {self.process.returncode}: {self.output()}")
            try:
                with urllib.request.urlopen(self.url + "/login", timeout=2) as answer:
                    if answer.status == 200:
                        return self
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.1)
        self.stop()
        raise AssertionError(f"disval serve did not answer within {timeout:.0f} s: {self.output()}")

    def _mail_args(self) -> list[str]:
        if not self.mail_port:
            return []
        return ["--smtp-host", "127.0.0.1", "--smtp-port", str(self.mail_port), "--mail-lang", "en"]

    def stop(self) -> None:
        """End the server (SIGINT first, as Ctrl-C would: uvicorn shuts down and the outbox is sent) and its workers."""
        for worker in self.worker_processes:
            if worker.poll() is None:
                worker.send_signal(signal.SIGTERM)
        for worker in self.worker_processes:
            try:
                worker.wait(15)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait(5)
        self.worker_processes.clear()
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)

    def output(self) -> str:
        """What the server wrote (its log: uvicorn's access lines, warnings, errors)."""
        return self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""

    def __enter__(self) -> "LivePortal":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
