"""The sandbox marketplace (fnac_sandbox) is a development, test and demo tool: production settings do not
install it, and no product package imports it."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parent.parent
PRODUCT_PACKAGES = ["console", "accounts", "stores", "catalogue", "inventory", "orders", "fulfilment", "fnac_connector"]


def _production_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE", "SANDBOX_ENABLED",
                                                            "DEFAULT_CARRIER_ADAPTER",
                                                            # set by the browser tests' conftest in this worker
                                                            "DJANGO_ALLOW_ASYNC_UNSAFE")}
    env.update(DJANGO_ENV="production", DJANGO_SECRET_KEY="prod-" + "x9Q2-kL7z" * 8,
               FIELD_ENCRYPTION_KEY=Fernet.generate_key().decode(), DJANGO_ALLOWED_HOSTS="connector.example.com",
               DJANGO_SETTINGS_MODULE="fnac_connector.settings", **extra)
    return env


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def test_production_settings_pass_check_deploy_without_the_sandbox():
    env = _production_env()
    check = _run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], env)
    assert check.returncode == 0, check.stdout + check.stderr
    probe = _run(["-c", "import django, json; django.setup(); from django.conf import settings as s; "
                        "from django.apps import apps; "
                        "print(json.dumps([apps.is_installed('fnac_sandbox'), s.DEFAULT_CARRIER_ADAPTER]))"], env)
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.strip().splitlines()[-1] == '[false, ""]'
    assert "fnac_sandbox" not in check.stdout + check.stderr
    command = _run(["manage.py", "run_sandbox", "--help"], env)
    assert command.returncode != 0 and "Unknown command" in command.stderr


def test_development_settings_install_the_sandbox():
    from django.apps import apps
    from django.conf import settings

    assert apps.is_installed("fnac_sandbox") and settings.DEFAULT_CARRIER_ADAPTER == "sandbox"


def test_no_product_package_imports_the_sandbox():
    offenders = []
    for package in PRODUCT_PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
                names = []
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                elif isinstance(node, ast.Call) and path.name != "settings.py":  # import_module("fnac_sandbox")
                    names = [a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
                offenders += [f"{path.relative_to(ROOT)}:{node.lineno} {name}" for name in names
                              if name.split(".")[0] == "fnac_sandbox"]
    assert offenders == []
