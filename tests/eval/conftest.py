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
