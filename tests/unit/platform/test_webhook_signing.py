"""The pure parts of outbound webhooks: signature, backoff with jitter, Retry-After, the address guard."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import random
import socket

import pytest

from pagedesk.platform import signing

NOW = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)


def test_signature_is_hmac_of_timestamp_dot_body():
    body = b'{"id":"x"}'
    expected = hmac.new(b"topsecret", b"1767225600." + body, hashlib.sha256).hexdigest()
    assert signing.signature(secret="topsecret", timestamp="1767225600", body=body) == f"sha256={expected}"
    assert signing.signature(secret="topsecret", timestamp="1767225601", body=body) != f"sha256={expected}"


@pytest.mark.parametrize("retry", range(1, 16))
def test_backoff_stays_within_its_jitter_bounds(retry):
    step = min(signing.BACKOFF_BASE_SECONDS * 2 ** (retry - 1), signing.BACKOFF_CAP_SECONDS)
    rng = random.Random(retry)
    waits = [signing.backoff_seconds(retry, rng=rng) for _ in range(200)]
    assert all(step / 2 <= wait <= step for wait in waits)
    assert max(waits) - min(waits) > step / 4  # jittered, not a constant


def test_backoff_grows_then_caps():
    lows = [signing.backoff_seconds(n, rng=random.Random(0)) for n in (1, 2, 3)]
    assert lows[0] < lows[1] < lows[2]
    assert signing.backoff_seconds(40) <= signing.BACKOFF_CAP_SECONDS


def test_retries_fill_about_24_hours():
    total, retry = 0.0, 0
    while total < 24 * 3600:
        retry += 1
        total += signing.BACKOFF_CAP_SECONDS / 2  # the least each capped retry waits
    assert 20 < retry < 60


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("120", 120.0),
        (" 7 ", 7.0),
        ("Mon, 02 Mar 2026 10:05:00 GMT", 300.0),
        ("Mon, 02 Mar 2026 09:00:00 GMT", 0.0),  # in the past: now
        ("999999", signing.RETRY_AFTER_CAP_SECONDS),
        ("soon", None),
        ("", None),
        (None, None),
        ("-5", None),
    ],
)
def test_retry_after(header, seconds):
    assert signing.retry_after_seconds(header, now=NOW) == seconds


@pytest.mark.parametrize("status", [500, 502, 503, 504, 408, 429])
def test_retryable(status):
    assert signing.retryable_status(status)


@pytest.mark.parametrize("status", [400, 401, 403, 404, 410, 422, 301])
def test_not_retryable(status):
    assert not signing.retryable_status(status)


@pytest.fixture
def resolves_to(monkeypatch):
    def set_address(address: str) -> None:
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        monkeypatch.setattr(
            socket, "getaddrinfo", lambda *a, **k: [(family, socket.SOCK_STREAM, 6, "", (address, 443))]
        )

    return set_address


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.5",
        "192.168.1.1",
        "169.254.169.254",
        "::1",
        "fe80::1",
        "fd00::1",
        "0.0.0.0",
        "::ffff:127.0.0.1",
        "224.0.0.1",
    ],
)
def test_private_targets_are_refused(resolves_to, settings, address):
    settings.WEBHOOKS_ALLOW_PRIVATE = False
    resolves_to(address)
    with pytest.raises(signing.UnsafeUrl) as refused:
        signing.url_check("https://hooks.example.com/in")
    assert refused.value.code == "private_url" and refused.value.field == "url"


def test_public_targets_pass_and_private_ones_when_allowed(resolves_to, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE = False
    resolves_to("93.184.216.34")
    assert signing.url_check("https://hooks.example.com/in") == ["93.184.216.34"]
    settings.WEBHOOKS_ALLOW_PRIVATE = True
    resolves_to("127.0.0.1")
    assert signing.url_check("http://localhost:8080/in") == ["127.0.0.1"]


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/x",
        "file:///etc/passwd",
        "javascript:alert(1)",
        "https://",
        "hooks.example.com",
        "https://user:pw@example.com/x",
        "https://example.com:99999/x",
    ],
)
def test_malformed_urls_are_refused(url, settings):
    with pytest.raises(signing.UnsafeUrl):
        signing.url_check(url)


def test_an_unknown_host_is_refused(monkeypatch):
    def fail(*args, **kwargs):
        raise socket.gaierror("no such host")

    monkeypatch.setattr(socket, "getaddrinfo", fail)
    with pytest.raises(signing.UnsafeUrl) as refused:
        signing.url_check("https://nowhere.invalid/x")
    assert refused.value.code == "unresolvable_url"


def test_the_secret_is_encrypted_at_rest(settings):
    secret = signing.secret_generate()
    stored = signing.secret_encrypt(secret)
    assert secret not in stored and signing.secret_decrypt(stored) == secret
    from cryptography.fernet import Fernet

    settings.TOKEN_KEY = Fernet.generate_key().decode()
    assert signing.secret_decrypt(stored) is None
