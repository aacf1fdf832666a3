"""One attempt against a real local receiver (registry/events/sending.py): the address is
checked once and connected to as checked; private ones only when allowed; timeouts."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest

from registry.events.sending import Sender, forbidden
from tests.events.receiver import Receiver


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver().start()
    yield r
    r.stop()


@pytest.mark.parametrize(
    ("address", "refused"),
    [
        ("127.0.0.1", True),
        ("10.1.2.3", True),
        ("192.168.1.1", True),
        ("172.16.0.1", True),
        ("169.254.169.254", True),  # cloud metadata
        ("::1", True),
        ("fe80::1", True),
        ("fd00::1", True),
        ("::ffff:127.0.0.1", True),
        ("0.0.0.0", True),
        ("100.64.0.1", True),
        ("224.0.0.1", True),
        ("8.8.8.8", False),
        ("2606:4700:4700::1111", False),
    ],
)
def test_private_addresses(address: str, refused: bool) -> None:
    assert forbidden(address) is refused


def test_a_private_address_is_refused_unless_allowed(receiver: Receiver) -> None:
    sender = Sender(timeout=2)
    result = sender.send(receiver.url, {}, b"{}", allow_private=False)
    assert result.refused and result.status is None and "127.0.0.1" in (result.error or "")
    assert receiver.received == []
    assert sender.send(receiver.url, {"X-A": "1"}, b"{}", allow_private=True).status == 200
    assert receiver.received[0].headers["X-A"] == "1"


def test_the_checked_address_is_the_one_connected_to(receiver: Receiver) -> None:
    """The name is resolved once (here by an injected resolver: the host does not exist in
    DNS); the connection goes to that address, with the URL's host in ``Host``."""
    port = int(receiver.url.rsplit(":", 1)[1].split("/")[0])
    asked: list[str] = []

    def resolver(host: str, _port: int) -> list[str]:
        asked.append(host)
        return ["127.0.0.1"]

    sender = Sender(timeout=2, resolver=resolver)
    url = f"http://hooks.invalid:{port}/hook?x=1"
    assert sender.send(url, {}, b"{}", allow_private=True).status == 200
    assert asked == ["hooks.invalid"]
    assert receiver.received[0].headers["Host"] == f"hooks.invalid:{port}"
    assert receiver.received[0].path == "/hook?x=1"


def test_statuses_timeouts_and_connection_errors(receiver: Receiver) -> None:
    receiver.answer = lambda r: (429, 0.0) if r.path == "/busy" else (200, 1.0)
    sender = Sender(timeout=0.3)
    busy = sender.send(receiver.url.replace("/hook", "/busy"), {}, b"", allow_private=True)
    assert busy.status == 429
    slow = sender.send(receiver.url, {}, b"", allow_private=True)
    assert slow.status is None and (slow.error or "").startswith("timeout")
    closed = sender.send("http://127.0.0.1:9/", {}, b"", allow_private=True)
    assert closed.status is None and (closed.error or "").startswith("connection")
    unknown = Sender(timeout=1, resolver=lambda h, p: []).send(
        "http://nowhere.invalid/", {}, b"", allow_private=True
    )
    assert "no address" in (unknown.error or "")


def test_https_checks_the_url_host_on_the_address_connected_to(tmp_path: Path) -> None:
    """The certificate is verified for the URL's host name although the connection goes
    to the address resolved and checked; another name is refused by TLS."""
    import trustme

    ca = trustme.CA()
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("hooks.example").configure_cert(server)
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    receiver = Receiver().start(tls=server)
    try:
        port = receiver.url.rsplit(":", 1)[1].split("/")[0]
        sender = Sender(
            timeout=2, resolver=lambda h, p: ["127.0.0.1"], ca_file=str(tmp_path / "ca.pem")
        )
        ok = sender.send(f"https://hooks.example:{port}/hook", {}, b"{}", allow_private=True)
        assert ok.status == 200, ok
        wrong = sender.send(f"https://other.example:{port}/hook", {}, b"{}", allow_private=True)
        assert wrong.status is None and "doesn't match 'hooks.example'" in (wrong.error or ""), (
            wrong
        )
        untrusted = Sender(timeout=2, resolver=lambda h, p: ["127.0.0.1"]).send(
            f"https://hooks.example:{port}/hook", {}, b"{}", allow_private=True
        )
        assert untrusted.status is None
        assert len(receiver.received) == 1
    finally:
        receiver.stop()
