"""Run a function on several threads at once, each with its own database connections (concurrency tests)."""

from __future__ import annotations

import threading

from django.db import connections


def run_in_threads(target, n: int, *, together: bool = False, timeout: float | None = None) -> list[Exception]:
    """Call ``target(i)`` for i in 0..n-1, each on its own thread (``together``: all start at a barrier); wait for
    them (``timeout`` seconds each at the most) and return the exceptions they raised."""
    errors = []
    barrier = threading.Barrier(n) if together else None

    def work(i):
        try:
            if barrier is not None:
                barrier.wait()
            target(i)
        except Exception as exc:  # collected, asserted by the test
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)
    return errors
