from __future__ import annotations

import hashlib
import hmac

from pagedesk.messenger.signatures import signature_is_valid, verify_token_matches

BODY = b'{"object":"page","entry":[]}'
GOOD = "sha256=" + hmac.new(b"s3cret", BODY, hashlib.sha256).hexdigest()


def test_good_signature():
    assert signature_is_valid(body=BODY, header=GOOD, secret="s3cret")


def test_missing_wrong_or_unconfigured():
    assert not signature_is_valid(body=BODY, header=None, secret="s3cret")
    assert not signature_is_valid(body=BODY, header="", secret="s3cret")
    assert not signature_is_valid(body=BODY, header=GOOD, secret="other")
    assert not signature_is_valid(body=BODY + b" ", header=GOOD, secret="s3cret")
    assert not signature_is_valid(body=BODY, header=GOOD.replace("sha256=", "sha1="), secret="s3cret")
    assert not signature_is_valid(body=BODY, header="sha256=é", secret="s3cret")
    assert not signature_is_valid(body=BODY, header=GOOD, secret="")


def test_verify_token():
    assert verify_token_matches(given="tok", expected="tok")
    assert not verify_token_matches(given="tok2", expected="tok")
    assert not verify_token_matches(given=None, expected="tok")
    assert not verify_token_matches(given="", expected="")
