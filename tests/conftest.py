"""Shared fixtures.  Every test runs offline: opening a socket or resolving a name fails it."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO.parent / "shared" / "corpus"
CAPTURES = REPO / "captures"
HENAN = CAPTURES / "henan-2022"


class NetworkAccessError(AssertionError):
    """A test (or the code under test) tried to reach the network."""


def _refuse(*args: object, **kwargs: object) -> None:
    raise NetworkAccessError(f"network access attempted: {args!r}")


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail any attempt to connect, send or resolve, in every test, with no opt-out."""
    monkeypatch.setattr(socket.socket, "connect", _refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", _refuse)
    monkeypatch.setattr(socket.socket, "sendto", _refuse)
    monkeypatch.setattr(socket, "create_connection", _refuse)
    monkeypatch.setattr(socket, "getaddrinfo", _refuse)
    monkeypatch.setattr(socket, "gethostbyname", _refuse)
    monkeypatch.setattr(socket, "gethostbyname_ex", _refuse)
    monkeypatch.setattr(socket, "gethostbyaddr", _refuse)


@pytest.fixture
def corpus_dir() -> Path:
    """The third-party corpus at ../shared/corpus (read-only)."""
    if not CORPUS.is_dir():
        pytest.fail(f"corpus not found at {CORPUS}: hostmap's tests need ../shared/corpus")
    return CORPUS


@pytest.fixture
def henan_dir() -> Path:
    """The Henan 2022 fixture captures."""
    return HENAN
