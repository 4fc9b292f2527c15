"""What every benchmark needs: a throwaway database, the sandbox marketplace in its own process (so it does not
share the benchmark's GIL), its control API, and a store pointed at it."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def use_throwaway_database(name: str) -> Path:
    """Settings for a benchmark process: a fresh SQLite file under /tmp unless DATABASE_URL is set, DEBUG off
    (it keeps every SQL statement in memory), quiet logs, an encryption key."""
    db_file = Path(tempfile.gettempdir()) / f"bench_{name}_{os.getpid()}.sqlite3"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fnac_connector.settings")
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{db_file}")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.setdefault("DJANGO_DEBUG", "false")
    if not os.environ.get("FIELD_ENCRYPTION_KEY"):
        from cryptography.fernet import Fernet

        os.environ["FIELD_ENCRYPTION_KEY"] = Fernet.generate_key().decode()
    return db_file


def remove_database(db_file: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(str(db_file) + suffix).unlink(missing_ok=True)


def setup_django() -> None:
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


@contextlib.contextmanager
def sandbox_process(*options: str):
    """``manage.py run_sandbox --port <free> --no-simulate <options>`` in its own process; yields its base URL
    once ``/sandbox/status`` answers, and stops it on exit."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, str(ROOT / "manage.py"), "run_sandbox", "--port", str(port),
                             "--no-simulate", *options], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            env={**os.environ, "DATABASE_URL": "sqlite:///:memory:"})
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                control(base, "/sandbox/status", timeout=1)
                break
            except OSError:
                if proc.poll() is not None:
                    raise SystemExit("the sandbox did not start: " + proc.stderr.read().decode()[-2000:]) from None
                time.sleep(0.1)
        else:
            raise SystemExit("the sandbox did not answer on /sandbox/status")
        yield base
    finally:
        stop(proc)


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


def bench_store(name: str, base: str, creds: dict, **fields):
    """A store pointed at the sandbox, marked connected without running the connect hooks (no initial imports:
    the benchmark decides what runs)."""
    from stores.models import Store
    from stores.services import store_create

    store = store_create(name=name, partner_id=creds["partner_id"], shop_id=creds["shop_id"], fnac_key=creds["key"],
                         mirakl_api_key=creds["mirakl_key"], fnac_base_url=f"{base}/api.php/", mirakl_base_url=base,
                         **fields)
    Store.objects.filter(pk=store.pk).update(status=Store.Status.CONNECTED)
    store.refresh_from_db()
    return store
