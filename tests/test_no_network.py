import socket

import pytest

from tests.conftest import NetworkAccessError


def test_opening_a_connection_fails_the_test() -> None:
    with pytest.raises(NetworkAccessError):
        socket.create_connection(("192.0.2.1", 80), timeout=0.1)


def test_resolving_a_name_fails_the_test() -> None:
    with pytest.raises(NetworkAccessError):
        socket.getaddrinfo("example.com", 80)
