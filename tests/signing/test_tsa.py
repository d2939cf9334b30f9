"""The RFC 3161 authority: echoes, policy, serials, certReq, rejections; tokens validate."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import pytest
from asn1crypto import tsp
from pyhanko.sign.validation.generic_cms import validate_tst_signed_data

from signing import DemoPki, TimeStampAuthority
from signing.pades import validation_context
from signing.tsa import DEFAULT_POLICY, load_response

DIGEST = hashlib.sha256(b"document").digest()
FROZEN = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def _request(
    *, digest: bytes = DIGEST, alg: str = "sha256", nonce: int | None = 42, cert_req: bool = True
) -> bytes:
    fields: dict[str, object] = {
        "version": "v1",
        "message_imprint": {"hash_algorithm": {"algorithm": alg}, "hashed_message": digest},
        "cert_req": cert_req,
    }
    if nonce is not None:
        fields["nonce"] = nonce
    return tsp.TimeStampReq(fields).dump()


@pytest.fixture
def frozen_tsa(pki: DemoPki) -> TimeStampAuthority:
    return TimeStampAuthority(pki.key_store, pki.tsa, clock=lambda: FROZEN)


async def test_token_echoes_the_request_and_validates(
    frozen_tsa: TimeStampAuthority, pki: DemoPki
) -> None:
    resp = tsp.TimeStampResp.load(frozen_tsa.respond(_request()))

    assert resp["status"]["status"].native == "granted"
    signed_data = resp["time_stamp_token"]["content"]
    info = signed_data["encap_content_info"]["content"].parsed
    assert info["message_imprint"]["hashed_message"].native == DIGEST
    assert info["nonce"].native == 42
    assert info["policy"].native == DEFAULT_POLICY
    assert info["gen_time"].native == FROZEN
    assert len(signed_data["certificates"]) == 2
    status = await validate_tst_signed_data(
        signed_data, validation_context(pki.validation_material()), lambda _alg: DIGEST
    )
    assert status["intact"] and status["valid"] and status["timestamp"] == FROZEN


def test_serial_numbers_differ(tsa: TimeStampAuthority) -> None:
    serials = {
        tsp.TimeStampResp.load(tsa.respond(_request()))["time_stamp_token"]["content"][
            "encap_content_info"
        ]["content"]
        .parsed["serial_number"]
        .native
        for _ in range(5)
    }
    assert len(serials) == 5


def test_without_cert_req_no_certificates_and_without_nonce_none(tsa: TimeStampAuthority) -> None:
    resp = tsp.TimeStampResp.load(tsa.respond(_request(nonce=None, cert_req=False)))

    signed_data = resp["time_stamp_token"]["content"]
    assert not signed_data["certificates"].native
    assert signed_data["encap_content_info"]["content"].parsed["nonce"].native is None


@pytest.mark.parametrize(
    ("request_der", "fail_info"),
    [
        (b"\x30\x03garbage", "bad_data_format"),
        (_request(alg="sha1", digest=b"x" * 20), "bad_alg"),
        (_request(digest=b"short"), "bad_data_format"),
        (
            tsp.TimeStampReq(
                {
                    "version": "v1",
                    "message_imprint": {
                        "hash_algorithm": {"algorithm": "sha256"},
                        "hashed_message": DIGEST,
                    },
                    "req_policy": "1.2.3.4",
                }
            ).dump(),
            "unaccepted_policy",
        ),
    ],
    ids=["garbage", "sha1", "short-imprint", "foreign-policy"],
)
def test_bad_requests_get_a_rejection(
    tsa: TimeStampAuthority, request_der: bytes, fail_info: str
) -> None:
    resp = load_response(tsa.respond(request_der))

    assert resp["status"]["status"].native == "rejection"
    assert resp["status"]["fail_info"].native == {fail_info}
