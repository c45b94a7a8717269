"""A throwaway PostgreSQL cluster (initdb + pg_ctl) on 127.0.0.1, for tests and benchmarks.

The binaries come from Debian's packages (`/usr/lib/postgresql/<major>/bin`) or PATH. initdb and
pg_ctl refuse to run as root: as root, they run as the `postgres` user in a directory it owns.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path
from typing import Self

from pipeline_service._lifecycle import Started

START_TIMEOUT_SECONDS = 60


def find_bin_dir() -> Path | None:
    """The newest PostgreSQL bin directory holding initdb and pg_ctl, or None."""
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=_major_version)
    if candidates:
        return Path(candidates[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb is not None else None


def _major_version(initdb: str) -> int:
    name = Path(initdb).parents[1].name
    return int(name) if name.isdigit() else 0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class ThrowawayCluster(Started):
    """`with ThrowawayCluster() as cluster:` a running server; `cluster.dsn(dbname)` connects to
    it (trust authentication, user `postgres`). Stopped and removed on exit.

    durable=False turns fsync off: faster, and fine for data that is thrown away anyway.
    With primary (a running cluster), a hot standby of it: read-only, replicating it.
    """

    def __init__(
        self,
        *,
        durable: bool = False,
        max_connections: int = 300,
        primary: ThrowawayCluster | None = None,
    ) -> None:
        bin_dir = find_bin_dir()
        if bin_dir is None:
            raise FileNotFoundError("PostgreSQL is not installed (no initdb found)")
        self.bin_dir = bin_dir
        self.durable = durable
        self.max_connections = max_connections
        self.primary = primary
        self.port = 0
        self._dir: Path | None = None
        self._as_postgres: list[str] = []
        self._options: list[str] = []

    @property
    def data_dir(self) -> Path:
        if self._dir is None:
            raise RuntimeError("the cluster is not started")
        return self._dir / "data"

    def dsn(self, dbname: str = "postgres") -> str:
        """A libpq URL for dbname on this cluster."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/{dbname}"

    def _run(self, *command: str) -> None:
        result = subprocess.run(
            [*self._as_postgres, *command],
            capture_output=True,
            text=True,
            timeout=START_TIMEOUT_SECONDS,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"{Path(command[0]).name} failed ({result.returncode}): "
                f"{(result.stderr or result.stdout).strip()[-2000:]}"
            )

    def start(self) -> Self:
        self._dir = Path(tempfile.mkdtemp(prefix="pipeline-service-pg-"))
        if os.geteuid() == 0:
            self._as_postgres = ["runuser", "-u", "postgres", "--"]
            os.chmod(self._dir, 0o755)
            try:
                shutil.chown(self._dir, "postgres")
            except LookupError as exc:
                self.stop()
                raise RuntimeError(
                    "initdb refuses to run as root, and there is no `postgres` user to run it as"
                ) from exc
        try:
            if self.primary is not None:
                self._run(
                    str(self.bin_dir / "pg_basebackup"),
                    "-h", "127.0.0.1",
                    "-p", str(self.primary.port),
                    "-U", "postgres",
                    "-D", str(self.data_dir),
                    "--write-recovery-conf",
                )  # fmt: skip
            else:
                self._initdb()
            options = [
                "-c listen_addresses=127.0.0.1",
                f"-c unix_socket_directories={self._dir}",
                f"-c max_connections={self.max_connections}",
            ]
            if not self.durable:
                options += ["-c fsync=off", "-c full_page_writes=off"]
            self._options = options
            for attempt in range(3):
                self.port = _free_port()
                try:
                    self.resume()
                    break
                except RuntimeError:
                    if attempt == 2:  # a port taken between choosing and binding it: retry
                        raise
        except BaseException:
            self.stop()
            raise
        return self

    def _initdb(self) -> None:
        self._run(
            str(self.bin_dir / "initdb"),
            "-D", str(self.data_dir),
            "-A", "trust",
            "-U", "postgres",
            "-E", "UTF8",
            "--locale=C",
            "--no-sync",
        )  # fmt: skip

    def halt(self) -> None:
        """Stop the server (fast shutdown: sessions are ended), keeping its files."""
        self._run(
            str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir), "-m", "fast", "-w", "stop"
        )

    def resume(self) -> None:
        """Start the (halted) server again, on its port."""
        self._run(
            str(self.bin_dir / "pg_ctl"),
            "-D", str(self.data_dir),
            "-l", str(self.data_dir.parent / "server.log"),
            "-o", " ".join([f"-p {self.port}", *self._options]),
            "-w", "-t", str(START_TIMEOUT_SECONDS),
            "start",
        )  # fmt: skip

    def stop(self) -> None:
        """Stop the server (immediately) and remove its files."""
        directory, self._dir = self._dir, None
        if directory is None:
            return
        if (directory / "data" / "postmaster.pid").exists():
            stop = ["-D", str(directory / "data"), "-m", "immediate", "-w", "stop"]
            subprocess.run(
                [*self._as_postgres, str(self.bin_dir / "pg_ctl"), *stop],
                capture_output=True,
                timeout=START_TIMEOUT_SECONDS,
                check=False,
            )
        shutil.rmtree(directory, ignore_errors=True)
