"""What every benchmark needs: a throwaway database, the sandbox marketplace in its own process (so it does not
share the benchmark's GIL), its control API, a store pointed at it, and the result table."""

from __future__ import annotations

import contextlib
import json
import math
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


@contextlib.contextmanager
def throwaway_database(name: str, *, keep: bool = False, reuse: bool = False) -> Iterator[Path]:
    """Settings for a benchmark process and the processes it starts (they inherit ``os.environ``): a fresh
    SQLite file under /tmp unless DATABASE_URL is set, DEBUG off (it keeps every SQL statement in memory), quiet
    logs, an encryption key. The file is removed on exit unless ``keep``; with ``reuse`` it is kept under a fixed
    name, so the next run with the same option finds it."""
    stem = f"bench_{name}" if reuse else f"bench_{name}_{os.getpid()}"
    db_file = Path(tempfile.gettempdir()) / f"{stem}.sqlite3"
    keep = keep or reuse
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fnac_connector.settings")
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{db_file}")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.setdefault("DJANGO_DEBUG", "false")
    if not os.environ.get("FIELD_ENCRYPTION_KEY"):
        from cryptography.fernet import Fernet

        os.environ["FIELD_ENCRYPTION_KEY"] = Fernet.generate_key().decode()
    try:
        yield db_file
    finally:
        if not keep:
            for suffix in ("", "-wal", "-shm"):
                Path(str(db_file) + suffix).unlink(missing_ok=True)


def rss_mb() -> float:
    """This process's resident memory, in MiB."""
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


class PeakRss:
    """The highest RSS seen while the block runs, sampled on a thread every 20 ms; ``growth`` over its start."""

    def __enter__(self):
        self.start = self.peak = rss_mb()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self):
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, rss_mb())

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_mb())

    @property
    def growth(self) -> float:
        return self.peak - self.start


POSTGRES_SERVER = "postgres://postgres@127.0.0.1:5432"


@contextlib.contextmanager
def postgres_database(url: str | None, *, prefix: str) -> Iterator[str]:
    """``url``, or a fresh database ``<prefix>_<pid>`` on the local PostgreSQL server, dropped on exit (the
    benchmarks that start several processes, which a throwaway SQLite file would serialise)."""
    if url:
        yield url
        return
    import psycopg

    name = f"{prefix}_{os.getpid()}"
    with psycopg.connect(f"{POSTGRES_SERVER}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{POSTGRES_SERVER}/{name}"
    finally:
        from django.db import connections

        connections.close_all()
        with psycopg.connect(f"{POSTGRES_SERVER}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def setup_django() -> None:
    """``django.setup()`` and the migrations, in the database chosen by :func:`throwaway_database`."""
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def control(base: str, path: str, payload: dict | None = None, method: str | None = None,
            timeout: float = 600) -> dict:
    """Call the sandbox's control API (``/sandbox/...``): GET without a payload, POST with one."""
    data = json.dumps(payload).encode() if payload is not None else None
    req = urllib.request.Request(base + path, data=data, method=method or ("POST" if data else "GET"),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return json.loads(resp.read())


@dataclass(frozen=True)
class Sandbox:
    base: str  # http://127.0.0.1:PORT, the root of the control API and of the Mirakl API
    credentials: dict  # partner_id, shop_id, key, mirakl_key

    @property
    def fnac_url(self) -> str:
        return f"{self.base}/api.php/"


@contextlib.contextmanager
def sandbox_process(**options) -> Iterator[Sandbox]:
    """``manage.py run_sandbox --port <free> --no-simulate --<option> <value>...`` in its own process (``batch_delay=0``
    gives ``--batch-delay 0``); yields it once ``/sandbox/status`` answers, and always stops it on exit."""
    port = free_port()
    args = [arg for key, value in options.items() for arg in (f"--{key.replace('_', '-')}", str(value))]
    # stderr goes to a file, not a pipe nobody reads: a full pipe would block the sandbox mid-benchmark
    with tempfile.TemporaryFile() as stderr:
        proc = subprocess.Popen([sys.executable, str(ROOT / "manage.py"), "run_sandbox", "--port", str(port),
                                 "--no-simulate", *args], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=stderr,
                                env={**os.environ, "DATABASE_URL": "sqlite:///:memory:"})
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(300):
                try:
                    status = control(base, "/sandbox/status", timeout=1)
                    break
                except OSError:
                    if proc.poll() is not None:
                        stderr.seek(0)
                        raise SystemExit("the sandbox did not start: " + stderr.read().decode()[-2000:]) from None
                    time.sleep(0.1)
            else:
                raise SystemExit("the sandbox did not answer on /sandbox/status")
            yield Sandbox(base=base, credentials=status["credentials"])
        finally:
            stop(proc)


def stop(proc: subprocess.Popen) -> None:
    """Ctrl-C a process this benchmark started, and kill it if it does not end within 15 s."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def bench_store(name: str, sandbox: Sandbox, **fields):
    """A store pointed at the sandbox, marked connected without running the connect hooks (no initial imports:
    the benchmark decides what runs)."""
    from stores.models import Store
    from stores.services import store_create

    creds = sandbox.credentials
    fields.setdefault("carrier_adapter", "sandbox")  # the sandbox carrier, whatever the settings' default
    store = store_create(name=name, partner_id=creds["partner_id"], shop_id=creds["shop_id"], fnac_key=creds["key"],
                         mirakl_api_key=creds["mirakl_key"], fnac_base_url=sandbox.fnac_url,
                         mirakl_base_url=sandbox.base, **fields)
    Store.objects.filter(pk=store.pk).update(status=Store.Status.CONNECTED)
    store.refresh_from_db()
    return store


def print_table(rows: list, *, value: str = "value", reference: str = "reference") -> None:
    """The benchmark table: figure | value | reference | ratio.

    A row is ``(figure, value, reference)``, its ratio being value / reference, or ``(figure, value, reference,
    ratio)``; a value, reference or ratio is a number, text printed as is, or None (left blank). A plain string
    is a note printed on its own line."""
    table = [row for row in rows if not isinstance(row, str)]
    width = max([len("figure"), *(len(row[0]) for row in table)])
    print(f"{'figure':<{width}} {value:>12} {reference:>12} {'ratio':>8}")
    print("-" * (width + 35))
    for row in rows:
        if isinstance(row, str):
            print(row)
            continue
        label, val, ref = row[:3]
        ratio = row[3] if len(row) > 3 else (val / ref if _number(val) and _number(ref) and ref else None)
        print(f"{label:<{width}} {_cell(val):>12} {_cell(ref):>12} {_cell(ratio):>8}".rstrip())


def _number(x) -> bool:
    return isinstance(x, int | float) and math.isfinite(x)


def _cell(x) -> str:
    """Integers as they are; other numbers with about three significant digits, never in exponent form."""
    if x is None:
        return ""
    if isinstance(x, str):
        return x
    if isinstance(x, int):
        return str(x)
    if not math.isfinite(x):
        return "-"
    magnitude = abs(x)
    if magnitude >= 100:
        return f"{x:.0f}"
    if magnitude >= 10:
        return f"{x:.1f}"
    if magnitude >= 1 or magnitude == 0:
        return f"{x:.2f}"
    return f"{x:.{max(3, 2 - math.floor(math.log10(magnitude)))}f}"
