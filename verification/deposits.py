"""Checked deposits: an agency's signed paper is accepted only if it verifies as that
agency's, authorized for the document type."""

from __future__ import annotations

from verification.errors import VerificationError
from verification.models import VerificationReport
from verification.pipeline import Verifier


class DepositRejected(VerificationError):
    """The deposited PDF did not verify as the depositing agency's paper."""

    def __init__(self, report: VerificationReport, why: str) -> None:
        super().__init__(why)
        self.report = report
        self.why = why


async def check_deposit(
    verifier: Verifier, pdf: bytes, *, agency_code: str, doc_type: str
) -> VerificationReport:
    """Verify ``pdf`` for a deposit; raises ``DepositRejected`` with the report unless
    the verdict is ``passed`` and a signature maps to ``agency_code``."""
    report = await verifier.verify(pdf, doc_type=doc_type)
    if report.verdict != "passed":
        raise DepositRejected(report, "the paper's signatures do not verify")
    if not any(sig.issuer_agency == agency_code for sig in report.signatures):
        raise DepositRejected(report, "the paper is not signed by the depositing agency")
    return report
