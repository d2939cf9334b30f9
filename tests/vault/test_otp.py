"""The sign-in one-time code's check: the current step or one either side, only once,
only six digits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pyotp

from vault import otp

NOW = datetime(2026, 12, 8, 1, 0, 15, tzinfo=UTC)


def _code(secret: bytes, at: datetime) -> str:
    return pyotp.TOTP(otp.encoded(secret)).at(at)


def test_a_code_is_accepted_for_its_step_and_one_either_side_only() -> None:
    secret = otp.new_secret()
    step = int(NOW.timestamp()) // otp.INTERVAL_SECONDS
    for drift, expected in ((-1, step - 1), (0, step), (1, step + 1)):
        at = NOW + timedelta(seconds=drift * otp.INTERVAL_SECONDS)
        assert otp.matching_step(secret, _code(secret, at), NOW, after=0) == expected
    for drift in (-2, 2):
        at = NOW + timedelta(seconds=drift * otp.INTERVAL_SECONDS)
        assert otp.matching_step(secret, _code(secret, at), NOW, after=0) is None


def test_a_used_step_and_malformed_codes_are_refused() -> None:
    secret = otp.new_secret()
    code = _code(secret, NOW)
    step = otp.matching_step(secret, code, NOW, after=0)
    assert step is not None
    assert otp.matching_step(secret, code, NOW, after=step) is None  # replay
    assert otp.matching_step(secret, code[:3] + " " + code[3:], NOW, after=0) == step
    for bad in ("", None, "12345", "1234567", "12345a", "١٢٣٤٥٦"):
        assert otp.matching_step(secret, bad, NOW, after=0) is None
    other = otp.new_secret()
    assert otp.matching_step(other, code, NOW, after=0) is None or code == _code(other, NOW)


def test_the_provisioning_uri_names_kho_and_the_account() -> None:
    secret = otp.new_secret()
    uri = otp.provisioning_uri(secret, "001090000001")
    assert uri.startswith("otpauth://totp/Kho:001090000001?")
    assert f"secret={otp.encoded(secret)}" in uri and "issuer=Kho" in uri
    assert len(otp.encoded(secret)) == 52
