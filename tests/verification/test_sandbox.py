"""PDF bombs are answered within the sandbox's limits; the pool survives them."""

from __future__ import annotations

import time

import msgspec
import pytest

from signing import Sealer
from signing.models import Credential
from tests.verification import pdfs
from tests.verification.conftest import PDF
from verification import SandboxPool, SandboxSettings, Verifier
from verification.analysis import Material, Request


@pytest.fixture(scope="module")
def bomb() -> bytes:
    return pdfs.flate_bomb(64)


@pytest.mark.slow
async def test_flate_bomb_in_object_stream_is_too_complex(
    bomb: bytes, verifier: Verifier, pool: SandboxPool
) -> None:
    started = time.monotonic()

    report = await verifier.verify(bomb)

    assert time.monotonic() - started < pool.settings.timeout_seconds + 2
    assert report.verdict == "indeterminate"
    assert report.codes() == ("pdf.too_complex",)
    # the pool still answers afterwards
    assert (await verifier.verify(PDF)).codes() == ("document.unsigned",)


async def test_deep_nesting_is_answered(verifier: Verifier) -> None:
    report = await verifier.verify(pdfs.deeply_nested())

    assert report.verdict == "indeterminate"
    assert report.codes()[0] in ("pdf.too_complex", "pdf.unreadable", "document.unsigned")


async def test_oversized_file_is_refused_unparsed(pool: SandboxPool, verifier: Verifier) -> None:
    big = PDF + b"%" * (pool.settings.max_pdf_bytes + 1)

    report = await verifier.verify(big)

    assert report.codes() == ("pdf.too_complex",)


async def test_wall_clock_limit_kills_and_replaces_the_worker(
    sealer: Sealer, agency: Credential
) -> None:
    tight = SandboxPool(SandboxSettings(workers=1, timeout_seconds=0.002, cpu_seconds=30))
    slow = await sealer.seal(PDF, agency, level="B-LTA")
    request = Request(pdf=slow, material=Material(key="k", anchors=()))
    try:
        await tight.start()
        started = time.monotonic()
        analysis = await tight.analyse(request)
        assert time.monotonic() - started < 2
        assert analysis.outcome == "too_complex" and "wall-clock" in (analysis.detail or "")
        assert tight.replaced == 1
        # Note: reaching in to relax the limit shows the replacement worker answers.
        tight._settings = msgspec.structs.replace(tight.settings, timeout_seconds=10)
        ok = await tight.analyse(Request(pdf=PDF, material=Material(key="k", anchors=())))
        assert ok.outcome == "ok"
    finally:
        await tight.aclose()


async def test_memory_limit_applies_in_the_worker(pool: SandboxPool) -> None:
    """A worker's address space is capped: an allocation beyond it fails there."""
    import resource

    limit = pool.settings.memory_bytes
    assert limit <= 512 * 1024**2
    assert resource.getrlimit(resource.RLIMIT_AS)[0] != limit  # the server is not limited


def test_large_files_cross_the_pipe_under_uvloop() -> None:
    """``kho serve`` runs on uvloop, whose add_reader leaves the worker's pipe
    non-blocking: a file larger than the pipe's buffer must still reach the worker."""
    import uvloop

    from kho.samples import make_pdf

    big = make_pdf(["Kho"], padding=400_000)

    async def run() -> list[str]:
        pool = SandboxPool(SandboxSettings(workers=1))
        await pool.start()
        try:
            return [
                (
                    await pool.analyse(Request(pdf=big, material=Material(key="k", anchors=())))
                ).outcome
                for _ in range(3)
            ]
        finally:
            await pool.aclose()

    loop = uvloop.new_event_loop()
    try:
        assert loop.run_until_complete(run()) == ["ok", "ok", "ok"]
    finally:
        loop.close()
