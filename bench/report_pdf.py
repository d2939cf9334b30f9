"""What the sealed PDF verification report costs next to the JSON report, in one run.

    .venv/bin/python bench/report_pdf.py [--n 20]

In process (the real app through ASGI, embedded SQLite, a fresh demo PKI): one paper
deposited and sealed by an agency, then ``n`` sequential requests of each:

  json   GET /api/v1/documents/{id}/verification      (the cached verification)
  pdf    GET /api/v1/documents/{id}/verification.pdf  (the same, rendered + sealed B-LT)

Prints the median and p90 of each and the ratio pdf/json.  No target: the figure says
what an official's "download the evidence" costs the server.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import argparse
import asyncio
import statistics
import tempfile
import time

import httpx

from kho.app import Services, create_app
from kho.registry_cli import register_agency_issuer
from kho.samples import make_pdf
from kho.settings import Settings


async def run(n: int) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="kho-bench-report-"))
    settings = Settings(data_dir=workdir, master_key=None, migrate_on_start=True)  # type: ignore[call-arg]
    services = Services(settings)
    await services.migrate()
    app = create_app(settings, services)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://kho.test") as client:
        creds = await services.accounts.create_agency("BENCH", "Cơ quan bench", None)
        await register_agency_issuer(services, "BENCH", "Cơ quan bench", ["birth_certificate"])
        r = await client.post(
            "/api/v1/oauth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": creds.agency.client_id,
                "client_secret": creds.client_secret,
            },
        )
        agency = {"Authorization": f"Bearer {r.json()['access_token']}"}
        await services.accounts.create_owner("099000000777", "Nguyễn Văn Bench", "bench-pass-123")
        r = await client.post(
            "/api/v1/agency/deposits",
            headers=agency,
            data={
                "personal_id": "099000000777",
                "sign": "true",
                "doc_type": "birth_certificate",
                "title": "Giấy khai sinh",
            },
            files={"file": ("b.pdf", make_pdf(["Giay khai sinh"] * 20), "application/pdf")},
        )
        if r.status_code != 201:
            raise SystemExit(f"deposit failed: {r.status_code} {r.text[:300]}")
        doc = r.json()["id"]
        r = await client.post(
            "/api/v1/auth/login",
            json={"personal_id": "099000000777", "password": "bench-pass-123"},
        )
        owner = {"Authorization": f"Bearer {r.json()['access_token']}"}

        async def timed(path: str) -> list[float]:
            await client.get(path, headers=owner)  # warm
            out = []
            for _ in range(n):
                start = time.perf_counter()
                answer = await client.get(path, headers=owner)
                out.append((time.perf_counter() - start) * 1000)
                assert answer.status_code == 200, answer.text
            return out

        json_ms = await timed(f"/api/v1/documents/{doc}/verification")
        pdf_ms = await timed(f"/api/v1/documents/{doc}/verification.pdf")
    await services.close()

    def line(name: str, xs: list[float]) -> str:
        p90 = sorted(xs)[int(0.9 * (len(xs) - 1))]
        return f"{name:<6} median {statistics.median(xs):7.1f} ms   p90 {p90:7.1f} ms"

    print("pdf each:", " ".join(f"{x:.0f}" for x in pdf_ms))
    print(line("json", json_ms))
    print(line("pdf", pdf_ms))
    print(f"ratio pdf/json (median): {statistics.median(pdf_ms) / statistics.median(json_ms):.1f}x")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=20)
    asyncio.run(run(parser.parse_args().n))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
