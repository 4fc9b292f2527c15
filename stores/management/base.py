"""What the per-store management commands share: the ``--store ID`` argument, the run of a sync, its issues."""

from __future__ import annotations

from collections.abc import Callable

from django.core.management.base import BaseCommand, CommandError

from fnac_connector.errors import ServiceError
from stores.models import Store, SyncRun
from stores.syncs import LockBusy


class StoreCommand(BaseCommand):
    """A command about one store, named by ``--store ID``; subclasses add their own arguments."""

    unknown_store = "no store with id {}"

    def add_arguments(self, parser):
        parser.add_argument("--store", type=int, required=True, help="store id")
        self.add_store_arguments(parser)

    def add_store_arguments(self, parser) -> None:
        """The command's arguments besides ``--store``."""

    def get_store(self, opts, *, connected: bool = False) -> Store:
        """The store ``--store`` names (and, with ``connected``, only if it is connected), or a CommandError."""
        store = Store.objects.filter(pk=opts["store"]).first()
        if store is None:
            raise CommandError(self.unknown_store.format(opts["store"]))
        if connected and not store.is_connected:
            raise CommandError(f"store {store.name!r} is not connected ({store.get_status_display()})")
        return store

    def run_sync(self, start: Callable[[], SyncRun], *, store: Store, what: str,
                 kind: str | None = None) -> SyncRun:
        """Run ``start`` (a sync service call); a busy lock, a service refusal or a crash become a CommandError,
        a crash naming the store's last run (of ``kind`` when given)."""
        try:
            return start()
        except LockBusy as exc:
            raise CommandError(f"{exc}; try again when it has finished") from None
        except ServiceError as exc:
            raise CommandError(str(exc)) from None
        except Exception as exc:
            runs = SyncRun.objects.filter(store=store)
            if kind is not None:
                runs = runs.filter(kind=kind)
            last = runs.order_by("-id").first()
            raise CommandError(f"{what} failed (run #{last.pk if last else '?'}): {exc}") from None

    def write_issues(self, run: SyncRun, *, most: int, with_code: bool = False, stream=None,
                     indent: str = "  ") -> None:
        """The first ``most`` issues of ``run``, one a line (on stdout unless ``stream`` says otherwise)."""
        stream = self.stdout if stream is None else stream
        for issue in run.issues.all()[:most]:
            code = f"{issue.code} " if with_code else ""
            stream.write(f"{indent}{code}{issue.reference}: {issue.message}")
