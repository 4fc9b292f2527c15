"""Fixtures the wire-client tests share: a mocked wire that must be used in full, and a record of the sleeps."""

from __future__ import annotations

import pytest
import responses


@pytest.fixture
def rsps():
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


@pytest.fixture
def sleeps():
    return []
