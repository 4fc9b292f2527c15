from __future__ import annotations

import pytest

from fnac_sandbox.server import SandboxServer

from .wire import signed_in


@pytest.fixture
def srv():
    with SandboxServer(host="127.0.0.1", port=0, seed=3, offers=50, orders=40) as server:
        yield server


@pytest.fixture
def make_srv():
    servers = []

    def _make(**kwargs):
        kwargs.setdefault("seed", 3)
        server = SandboxServer(host="127.0.0.1", port=0, **kwargs).start()
        servers.append(server)
        return server

    yield _make
    for server in servers:
        server.stop()


@pytest.fixture
def fnac(srv):
    return signed_in(srv)
