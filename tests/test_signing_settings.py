"""Signing settings: external TSA, remote CSC provider and PKCS#11 custody, read from
``KHO_*`` once, checked together, secrets masked."""

from __future__ import annotations

import pytest

from kho.settings import Settings, SettingsError


def test_signing_defaults_are_the_embedded_ones() -> None:
    s = Settings.from_env({})
    assert s.tsa_url is None and s.tsa_timeout_seconds == 5.0
    assert s.csc_url is None and s.csc_token_url is None
    assert s.pkcs11_module is None


def test_signing_variables_are_read() -> None:
    s = Settings.from_env(
        {
            "KHO_TSA_URL": "http://tsa.test/tsa",
            "KHO_TSA_TIMEOUT_SECONDS": "2.5",
            "KHO_CSC_URL": "https://rssp.test",
            "KHO_CSC_TOKEN_URL": "https://rssp.test/oauth2/token",
            "KHO_CSC_CLIENT_ID": "kho",
            "KHO_CSC_CLIENT_SECRET": "s3cret-value",
            "KHO_PKCS11_MODULE": "/usr/lib/softhsm/libsofthsm2.so",
            "KHO_PKCS11_TOKEN": "kho",
            "KHO_PKCS11_PIN": "98765",
            "KHO_CSC_RELYING_PARTIES": "KHO-RP,OTHER",
        }
    )
    assert s.tsa_url == "http://tsa.test/tsa" and s.tsa_timeout_seconds == 2.5
    assert s.csc_url == "https://rssp.test" and s.csc_client_id == "kho"
    assert s.pkcs11_token == "kho" and s.csc_relying_parties == "KHO-RP,OTHER"
    assert "s3cret-value" not in repr(s) and "98765" not in repr(s)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"KHO_CSC_URL": "https://rssp.test"}, "KHO_CSC_CLIENT_ID"),
        ({"KHO_PKCS11_MODULE": "/lib.so", "KHO_PKCS11_TOKEN": "t"}, "KHO_PKCS11_PIN"),
        ({"KHO_TSA_TIMEOUT_SECONDS": "soon"}, "KHO_TSA_TIMEOUT_SECONDS"),
    ],
)
def test_incomplete_or_bad_signing_settings_fail_fast(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        Settings.from_env(env)
