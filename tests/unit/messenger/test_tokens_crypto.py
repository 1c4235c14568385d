"""Page tokens are stored Fernet-encrypted with settings.TOKEN_KEY and come back only through page_token_get."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from pagedesk.messenger.models import PageConnection
from pagedesk.messenger.tokens import page_token_get, page_token_set, token_decrypt, token_encrypt


def test_round_trip_and_ciphertext_hides_the_token():
    encrypted = token_encrypt("EAAB-secret-page-token")
    assert "EAAB" not in encrypted
    assert token_decrypt(encrypted) == "EAAB-secret-page-token"
    # Fernet adds a random IV: the same token never encrypts to the same text twice.
    assert token_encrypt("EAAB-secret-page-token") != encrypted


def test_wrong_key_or_garbage_decrypts_to_none(settings):
    encrypted = token_encrypt("EAAB-secret")
    settings.TOKEN_KEY = Fernet.generate_key().decode()
    assert token_decrypt(encrypted) is None
    assert token_decrypt("not-a-fernet-token") is None
    assert token_decrypt("") is None


@pytest.mark.django_db
def test_page_token_set_and_get(campaign):
    connection = PageConnection.objects.get(campaign=campaign)
    assert page_token_get(page_connection=connection) is None
    page_token_set(page_connection=connection, token="EAAB-page")
    connection.save()
    stored = PageConnection.objects.get(pk=connection.pk)
    assert stored.token_encrypted and "EAAB-page" not in stored.token_encrypted
    assert page_token_get(page_connection=stored) == "EAAB-page"
