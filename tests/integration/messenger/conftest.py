"""One Facebook simulator per test session for the Messenger tests that talk HTTP to it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration.messenger.facebook_simulator import Simulator, running_simulator


@pytest.fixture(scope="session")
def simulator_server() -> Iterator[Simulator]:
    with running_simulator() as simulator:
        yield simulator


@pytest.fixture
def fb(simulator_server: Simulator, settings) -> Simulator:
    """The simulator, reset to its seed, with pagedesk's Facebook settings pointing at it."""
    simulator_server.reset()
    simulator_server.point_settings(settings)
    return simulator_server
