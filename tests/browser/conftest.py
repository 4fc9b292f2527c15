"""Browser tests: pytest-playwright driving Debian's chromium against a live server and the sandbox marketplace.

- chromium is ``/usr/bin/chromium`` (``apt-get install -y chromium``; ``playwright install`` cannot download
  here). Without it the browser tests are skipped with the reason, except under CI (env ``CI`` set, as
  ``.ci/run`` does), where a missing chromium fails them.
- ``ui`` (the fixture every test uses) is a page on the live server with helpers: ``login``, ``go``, ``step``.
  Every ``step`` takes a screenshot (kept in memory); when a test fails, those and the page as it was at the
  failure are written to ``test-artifacts/<test>/``. With ``SCREENSHOTS_DIR`` set (``docs/screens`` for the
  README), the steps named with ``screen=`` are saved there as ``<screen>.png``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

# playwright's sync API runs an event loop on the test thread: Django would refuse ORM calls in the tests
# ("you cannot call this from an async context"). The live server answers from its own threads. It is set for the
# worker process (session fixtures need it too); tests that start a production-like subprocess leave it out.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
VIEWPORT = {"width": 1400, "height": 900}
TIMEOUT_MS = 20_000
PASSWORD = "pw-browser-123"
SELLER_APPS = ["stores", "catalogue", "orders", "inventory", "fulfilment"]


def pytest_collection_modifyitems(config, items):
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.path).parents:
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI"):
            pytest.fail(f"CI: {CHROMIUM} is missing, the browser tests cannot run "
                        "(.ci/run installs it: apt-get install -y chromium)", pytrace=False)
        pytest.skip(f"browser tests skipped: no chromium at {CHROMIUM} (apt-get install -y chromium)")
    return {**browser_type_launch_args, "executable_path": CHROMIUM}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "viewport": VIEWPORT, "locale": "en-GB", "timezone_id": "Europe/Paris",
            "accept_downloads": True}


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-")[:150]


class UI:
    """A page on the live server, with the helpers the journeys share."""

    def __init__(self, page, base_url: str, request):
        self.page = page
        self.base_url = base_url.rstrip("/")
        self.request = request
        self.steps: list[tuple[str, bytes]] = []

    # -- navigation
    def url(self, path: str) -> str:
        return path if path.startswith("http") else self.base_url + path

    def go(self, path: str):
        response = self.page.goto(self.url(path))
        assert response is not None and response.status < 500, f"{path}: HTTP {response and response.status}"
        return response

    def login(self, username: str, password: str = PASSWORD):
        self.page.context.clear_cookies()
        self.go("/admin/login/?next=/admin/")
        self.page.fill("#id_username", username)
        self.page.fill("#id_password", password)
        self.page.locator("form [type=submit]").first.click()
        self.page.wait_for_url(re.compile(r".*/admin/$"))
        self.step(f"logged-in-{username}")

    def api(self, path: str) -> dict:
        """GET an API address with the browser's session (SessionAuthentication), as JSON."""
        response = self.page.request.get(self.url(path))
        assert response.status == 200, f"{path}: HTTP {response.status} {response.text()[:300]}"
        return response.json()

    # -- forms
    def reveal(self, locator):
        """Make a form field visible: open the fieldset tab (django-unfold ``"classes": ["tab"]``) or the
        collapsed section it is in."""
        locator.wait_for(state="attached")
        if not locator.is_visible():
            locator.evaluate("""el => {
                const tab = el.closest('.tab-wrapper');
                if (tab) {
                    const name = [...tab.classList].find(c => c.startsWith('fieldset-'));
                    const slug = name ? name.slice('fieldset-'.length) : null;
                    const link = [...document.querySelectorAll('a')].find(
                        a => slug && (a.getAttribute('x-on:click') || '').includes("'" + slug + "'"));
                    if (link) link.click();
                }
                const details = el.closest('details');
                if (details) details.open = true;
            }""")
        locator.wait_for(state="visible")
        return locator

    def field(self, name: str):
        return self.page.locator(f"[name='{name}']").first

    def fill(self, values: dict):
        """Fill form fields by name: text, select (by label or value) and checkbox (bool)."""
        for name, value in values.items():
            field = self.reveal(self.field(name))
            tag = field.evaluate("el => el.tagName.toLowerCase() + ':' + (el.type || '')")
            if tag.startswith("select"):
                options = field.evaluate("el => [...el.options].map(o => o.value)")
                if str(value) in options:
                    field.select_option(value=str(value))
                else:
                    field.select_option(label=str(value))
            elif tag.endswith("checkbox"):
                field.set_checked(bool(value))
            else:
                field.fill(str(value))

    def save(self):
        """The admin change form's Save button; waits for the next page."""
        with self.page.expect_navigation():
            self.page.locator("[name=_save]").first.click()

    def submit(self, name: str | re.Pattern, *, exact: bool = False):
        """Click the submit button called ``name`` (text or value) and wait for the next page."""
        with self.page.expect_navigation():
            self.page.get_by_role("button", name=name, exact=exact).first.click()

    def click_link(self, href_part: str):
        """Click the first link whose address contains ``href_part`` and wait for the next page."""
        with self.page.expect_navigation():
            self.page.locator(f"a[href*='{href_part}']").first.click()

    # -- the page
    def body(self) -> str:
        return self.page.locator("body").inner_text()

    def step(self, name: str, *, screen: str | None = None, full_page: bool = False, top: bool = False):
        """A screenshot of this step (kept for a failure report); ``screen``: also the README picture
        ``<SCREENSHOTS_DIR>/<screen>.png`` when SCREENSHOTS_DIR is set; ``top``: scrolled to the top first."""
        if top:
            self.page.evaluate("window.scrollTo(0, 0)")
        png = self.page.screenshot(full_page=full_page)
        self.steps.append((name, png))
        target = os.environ.get("SCREENSHOTS_DIR")
        if screen and target:
            path = Path(target)
            path.mkdir(parents=True, exist_ok=True)
            (path / f"{screen}.png").write_bytes(png)

    def save_failure(self, folder: Path):
        folder.mkdir(parents=True, exist_ok=True)
        for i, (name, png) in enumerate(self.steps, 1):
            (folder / f"{i:02d}-{_slug(name)}.png").write_bytes(png)
        try:
            self.page.screenshot(path=str(folder / "zz-failure.png"), full_page=True)
            (folder / "zz-failure.html").write_text(self.page.content())
            (folder / "url.txt").write_text(self.page.url + "\n")
        except Exception as exc:  # the page may be gone; the steps are kept
            (folder / "zz-failure-error.txt").write_text(repr(exc))


@pytest.fixture
def ui(page, live_server, request):
    page.set_default_timeout(TIMEOUT_MS)
    screen = UI(page, live_server.url, request)
    yield screen
    failed = any(getattr(request.node, f"rep_{when}", None) is not None
                 and getattr(request.node, f"rep_{when}").failed for when in ("setup", "call"))
    if failed:
        folder = Path(request.config.rootpath) / "test-artifacts" / _slug(request.node.nodeid)
        screen.save_failure(folder)
        print(f"\nbrowser test failed: screenshots of each step in {folder}")


@pytest.fixture(autouse=True)
def _fresh_carrier_registry():
    """The sandbox carrier keeps its bookings in memory: each journey starts and leaves it empty."""
    from fnac_connector.carriers import registry

    registry.reset()
    yield
    registry.reset()


# ---------------------------------------------------------------- users
@pytest.fixture
def admin_user(django_user_model):
    return django_user_model.objects.create_superuser("boss", "boss@example.com", PASSWORD)


@pytest.fixture
def make_staff(django_user_model):
    """A staff user with every permission of the seller apps, assigned to ``stores``."""
    from django.apps import apps
    from django.contrib.auth.models import Permission
    from django.contrib.contenttypes.models import ContentType

    def _make(username: str, *stores):
        # Every permission of the seller apps, made sure of row by row: a transactional test before this one (another
        # journey, a migration test) flushed the tables, and this worker's content-type cache may still hold the
        # flushed rows' ids; the user would silently get none (403 on every list).
        ContentType.objects.clear_cache()
        perms = []
        for model in apps.get_models():
            meta = model._meta
            if meta.app_label not in SELLER_APPS:
                continue
            content_type, _ = ContentType.objects.get_or_create(app_label=meta.app_label, model=meta.model_name)
            wanted = [(f"{action}_{meta.model_name}", f"Can {action} {meta.verbose_name_raw}")
                      for action in meta.default_permissions] + list(meta.permissions)
            for codename, name in wanted:
                perm, _ = Permission.objects.get_or_create(content_type=content_type, codename=codename,
                                                           defaults={"name": name[:255]})
                perms.append(perm)
        assert perms, "no permission for the seller apps"
        user = django_user_model.objects.create_user(username, f"{username}@example.com", PASSWORD, is_staff=True)
        user.user_permissions.set(perms)
        assert user.has_perm("orders.view_order"), "the staff user cannot see orders"
        for store in stores:
            store.users.add(user)
        return user

    return _make
