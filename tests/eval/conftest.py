"""Evaluation tests run offline: any attempt to open a network connection fails loudly."""

import socket

import pytest

import hbaezoo.eval  # noqa: F401  (registers metrics and extractors even before hbaezoo imports them itself)


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError(f"a test tried to reach the network: {args}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.fixture(autouse=True)
def one_thread():
    """These tests use tiny tensors: on a busy 2-core machine extra torch threads only spin."""
    from hbaezoo.scopes import num_threads

    with num_threads(1):
        yield


@pytest.fixture(scope="session")
def tiny_bindings(pytestconfig) -> list[str]:
    """tests/conftest.py's TINY bindings, usable from fixtures wider than a function."""
    for plugin in pytestconfig.pluginmanager.get_plugins():
        if isinstance(getattr(plugin, "TINY", None), list):
            return list(plugin.TINY)
    raise LookupError("tests/conftest.py defines no TINY list")
