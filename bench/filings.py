"""Filing benchmark: auto-match of a new filing with 500 documents in the vault.

    .venv/bin/python bench/filings.py            # full run (~1 min)
    .venv/bin/python bench/filings.py --quick    # short run (~20 s)

One run starts its own server on the embedded default (the ingest benchmark's
lifecycle: a fresh temporary KHO_DATA_DIR, SQLite + file blobs, ``kho demo``, then
``kho serve`` on a free port), fills the first demo citizen's vault up to 500 documents
spread over ten document types, provenances and formats, then measures, one keep-alive
client, interleaved in rounds so drift hits all alike:

  (a) ``POST /api/v1/filings`` for ``judicial_record_certificate`` (two required types
      matched in one query, the e-form prefilled, the draft written and read back)
  (b) baseline: ``GET /api/v1/documents?limit=1`` of the same server (token lookup, one
      indexed read, JSON) — the cheapest authenticated request there is
  (c) in process, on the server's database file: the auto-match statement alone
      (``sharing.filings.BEST_MATCH``) next to a plain indexed
      ``SELECT id FROM documents WHERE owner_id = ? ORDER BY id DESC LIMIT 1``

and prints p50/p99 of each with the ratio to its baseline; the target is p99 ≤ 50 ms
for (a).  The numbers go to ``bench/results/filings-<timestamp>.json``.  Exit status 0
even on MISS; non-zero only if the run itself fails.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import argparse
import http.client
import json
import platform
import shutil
import tempfile
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import create_engine, text

from bench.ingest import HOST, BenchError, Server, percentile
from kho.samples import make_pdf, make_png
from sharing.filings import BEST_MATCH

PERSONAL_ID = "001090000001"
PASSWORD = "kho-demo-2026"
VAULT_SIZE = 500
PROCEDURE = "judicial_record_certificate"
TYPES = [
    "citizen_id",
    "residence",
    "birth_certificate",
    "marriage_certificate",
    "marital_status",
    "judicial_record",
    "driving_licence",
    "diploma",
    "health_insurance",
    "land_use_right",
]
TARGET_P99_MS = 50.0
RESULTS_DIR = Path(__file__).resolve().parent / "results"
BOUNDARY = "kho-bench-filings-5b1e"


class Client:
    """One keep-alive HTTP/1.1 connection."""

    def __init__(self, port: int, token: str) -> None:
        self.conn = http.client.HTTPConnection(HOST, port, timeout=60)
        self.auth = {"Authorization": f"Bearer {token}"}

    def call(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, bytes]:
        self.conn.request(method, path, body=body, headers={**self.auth, **(headers or {})})
        resp = self.conn.getresponse()
        return resp.status, resp.read()

    def close(self) -> None:
        self.conn.close()


def login(server: Server) -> str:
    status, body = server.request(
        "POST",
        "/api/v1/auth/login",
        body=json.dumps({"personal_id": PERSONAL_ID, "password": PASSWORD}).encode(),
        headers={"Content-Type": "application/json"},
    )
    if status != 200:
        raise BenchError(f"login: {status} {body[:300]!r}")
    return str(json.loads(body)["access_token"])


def upload_body(title: str, doc_type: str, filename: str, content: bytes, ctype: str) -> bytes:
    parts = []
    for name, value in (("title", title), ("doc_type", doc_type)):
        parts.append(
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        )
    parts.append(
        (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; '
            f'filename="{filename}"\r\nContent-Type: {ctype}\r\n\r\n'
        ).encode()
        + content
        + f"\r\n--{BOUNDARY}--\r\n".encode()
    )
    return b"".join(parts)


def fill_vault(client: Client) -> int:
    """Upload documents until the vault holds ``VAULT_SIZE``; returns how many it holds."""
    status, body = client.call("GET", "/api/v1/documents?limit=200")
    have = len(json.loads(body)["items"]) if status == 200 else 0
    png = make_png()
    for i in range(have, VAULT_SIZE):
        doc_type = TYPES[i % len(TYPES)]
        as_image = i % 3 == 0
        content = png if as_image else make_pdf([f"Giay to {i} ({doc_type})"])
        payload = upload_body(
            f"Giấy tờ {i}",
            doc_type,
            f"paper-{i}.{'png' if as_image else 'pdf'}",
            content,
            "image/png" if as_image else "application/pdf",
        )
        status, answer = client.call(
            "POST",
            "/api/v1/documents",
            body=payload,
            headers={"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"},
        )
        if status != 201:
            raise BenchError(f"upload {i}: {status} {answer[:300]!r}")
    return VAULT_SIZE


def timed(fn: Any) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000


def summary(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "n": len(ordered),
        "p50_ms": round(percentile(ordered, 50), 3),
        "p99_ms": round(percentile(ordered, 99), 3),
        "max_ms": round(ordered[-1], 3),
    }


def measure_http(client: Client, rounds: int, per_round: int) -> dict[str, list[float]]:
    body = json.dumps({"procedure_code": PROCEDURE}).encode()
    json_headers = {"Content-Type": "application/json"}
    out: dict[str, list[float]] = {"filing": [], "baseline": []}
    checked = False

    def create() -> None:
        nonlocal checked
        status, answer = client.call("POST", "/api/v1/filings", body=body, headers=json_headers)
        if status != 201:
            raise BenchError(f"create filing: {status} {answer[:300]!r}")
        if not checked:
            papers = {p["doc_type"] for p in json.loads(answer)["papers"]}
            if papers != {"citizen_id", "residence"}:
                raise BenchError(f"auto-match found {sorted(papers)}, not both required types")
            checked = True

    def baseline() -> None:
        status, answer = client.call("GET", "/api/v1/documents?limit=1")
        if status != 200:
            raise BenchError(f"baseline: {status} {answer[:300]!r}")

    for _ in range(5):  # warm-up
        create()
        baseline()
    for _ in range(rounds):
        out["filing"].extend(timed(create) for _ in range(per_round))
        out["baseline"].extend(timed(baseline) for _ in range(per_round))
    return out


def measure_query(db_path: Path, owner_id: str, rounds: int, per_round: int) -> dict[str, Any]:
    engine = create_engine(f"sqlite:///{db_path}")
    plain = text("SELECT id FROM documents WHERE owner_id = :owner_id ORDER BY id DESC LIMIT 1")
    params = {"owner_id": uuid.UUID(owner_id), "types": ["citizen_id", "residence"]}
    out: dict[str, list[float]] = {"match": [], "plain": []}
    with engine.connect() as conn:
        # Note: SQLAlchemy stores UUIDs on SQLite as 32 hex digits (no dashes).
        raw_id = uuid.UUID(owner_id).hex
        found = conn.execute(BEST_MATCH, params).all()
        if len(found) != 2:
            raise BenchError(f"the match statement found {found!r}")
        for _ in range(rounds):
            out["match"].extend(
                timed(lambda: conn.execute(BEST_MATCH, params).all()) for _ in range(per_round)
            )
            out["plain"].extend(
                timed(lambda: conn.execute(plain, {"owner_id": raw_id}).all())
                for _ in range(per_round)
            )
        try:
            compiled = BEST_MATCH.params(
                owner_id=uuid.UUID(owner_id), types=params["types"]
            ).compile(engine, compile_kwargs={"literal_binds": True})
            plan = [str(row[-1]) for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}")]
        except Exception as exc:  # Note: the plan is informative only
            plan = [f"n/a ({type(exc).__name__})"]
    engine.dispose()
    return {**out, "plan": plan}


def owner_id_of(server: Server, token: str) -> str:
    status, body = server.request("GET", "/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    if status != 200:
        raise BenchError(f"me: {status} {body[:200]!r}")
    return str(json.loads(body)["id"])


def run(args: argparse.Namespace) -> int:
    rounds, per_round = (10, 20) if args.quick else (20, 50)
    workdir = Path(tempfile.mkdtemp(prefix="kho-bench-filings-", dir=args.tmpdir))
    server = Server(workdir)
    res: dict[str, Any] = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"python": platform.python_version(), "platform": platform.platform()},
        "vault_documents": VAULT_SIZE,
        "procedure": PROCEDURE,
    }
    try:
        server.start()
        token = login(server)
        client = Client(server.port, token)
        try:
            fill_vault(client)
            http_samples = measure_http(client, rounds, per_round)
        finally:
            client.close()
        owner_id = owner_id_of(server, token)
        query = measure_query(server.data_dir / "kho.db", owner_id, rounds, per_round * 5)
        server.check_alive()
    finally:
        server.stop()
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)

    res["http"] = {k: summary(v) for k, v in http_samples.items()}
    res["query"] = {k: summary(query[k]) for k in ("match", "plain")}
    res["query_plan"] = query["plan"]
    report(res)
    RESULTS_DIR.mkdir(exist_ok=True)
    out = RESULTS_DIR / f"filings-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}.json"
    out.write_text(json.dumps(res, indent=2))
    print(f"\nresults: {out}")
    return 0


def report(res: dict[str, Any]) -> None:
    h, q = res["http"], res["query"]
    rows = [
        ("POST /api/v1/filings (auto-match)", h["filing"], h["baseline"], "GET documents?limit=1"),
        ("match statement alone", q["match"], q["plain"], "plain indexed SELECT"),
    ]
    print(f"\nFiling auto-match, {res['vault_documents']} documents in the vault\n")
    print(
        f"{'figure':36} {'p50 ms':>8} {'p99 ms':>8}   {'baseline':24} {'p50':>7} {'p99':>7}  ratio p50/p99"
    )
    for name, fig, base, base_name in rows:
        r50 = fig["p50_ms"] / base["p50_ms"] if base["p50_ms"] else float("inf")
        r99 = fig["p99_ms"] / base["p99_ms"] if base["p99_ms"] else float("inf")
        print(
            f"{name:36} {fig['p50_ms']:8.2f} {fig['p99_ms']:8.2f}   {base_name:24} "
            f"{base['p50_ms']:7.2f} {base['p99_ms']:7.2f}  {r50:5.2f}x / {r99:5.2f}x"
        )
    verdict = "PASS" if h["filing"]["p99_ms"] <= TARGET_P99_MS else "MISS"
    print(
        f"\ntarget: auto-match p99 ≤ {TARGET_P99_MS:.0f} ms → {h['filing']['p99_ms']:.2f} ms {verdict}"
    )
    print("query plan: " + " | ".join(res["query_plan"]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="shorter run (~20 s)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary work dir")
    parser.add_argument("--tmpdir", default=None, help="parent of the temporary work dir")
    args = parser.parse_args()
    try:
        return run(args)
    except BenchError as exc:
        print(f"benchmark failed: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
