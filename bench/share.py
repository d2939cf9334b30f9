"""Share benchmark: opening a share link and streaming through it, against the framework
floor of the same server, measured in one run.

    .venv/bin/python bench/share.py            # full run (~1 min)
    .venv/bin/python bench/share.py --quick    # short run (~30 s)

One run starts its own server on the embedded default (a fresh temporary KHO_DATA_DIR,
SQLite + file blobs, ``kho demo`` first, then ``kho serve`` on a free port; see
``bench/ingest.py``), signs in as the demo citizen, uploads three papers and one 200 KB
PDF, shares them, opens the link once (so the three verification reports are cached),
then measures at 64 concurrent keep-alive clients:

  (a) floor: ``GET /health/live`` — a hello-world JSON answer of the same app
  (b) ``GET /api/v1/shared/{token}``: token lookup by hash, expiry/revocation/use checks,
      one use spent, a grant, the audit event and the outbox event written, metadata and
      cached reports of 3 documents.  Target: ≥ 0.12× the floor's req/s, p99 ≤ 50 ms.
  (c) streaming the shared 200 KB PDF through the link with the opening's grant, at 16
      clients, next to the owner's own download of the same document (its floor).

Prints a table (figure, floor, ratio, target, PASS/MISS) and writes the numbers to
``bench/results/share-<timestamp>.json``.  Exit status 0 even on MISS; non-zero only if the
run itself fails.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.ingest import (
    RESULTS_DIR,
    AsyncioClient,
    BenchError,
    Load,
    LoadResult,
    Server,
    WrkClient,
    login,
    multipart_body,
    pdf_of_size,
    profile_server,
    upload_once,
)
from kho.samples import make_pdf

TARGETS = {"open_vs_floor_min": 0.12, "open_p99_max_ms": 50.0}


def _json(server: Server, method: str, path: str, token: str | None, body: Any = None) -> Any:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    status, answer = server.request(
        method, path, body=json.dumps(body).encode() if body is not None else None, headers=headers
    )
    if status >= 300:
        raise BenchError(f"{method} {path}: {status} {answer[:300]!r}")
    return json.loads(answer) if answer else None


def run(args: argparse.Namespace) -> int:
    seconds = 6.0 if args.quick else 15.0
    workdir = Path(tempfile.mkdtemp(prefix="kho-bench-share-"))
    server = Server(workdir)
    results: dict[str, Any] = {"started_at": datetime.now(UTC).isoformat(), "targets": TARGETS}
    try:
        server.start()
        token = login(server)
        papers = []
        for i in range(3):
            pdf = make_pdf([f"Giấy tờ {i}"])
            body = multipart_body(f"Giấy tờ {i}", f"paper-{i}.pdf", pdf)
            papers.append(upload_once(server, token, body, pdf))
        big = pdf_of_size(200_000, "200 KB")
        big_id = upload_once(server, token, multipart_body("200 KB", "big.pdf", big), big)
        share = _json(
            server,
            "POST",
            "/api/v1/shares",
            token,
            {"document_ids": papers, "ttl_seconds": 86400, "purpose": "bench"},
        )
        stream_share = _json(
            server,
            "POST",
            "/api/v1/shares",
            token,
            {"document_ids": [big_id], "ttl_seconds": 86400, "purpose": "bench"},
        )
        view = _json(server, "GET", f"/api/v1/shared/{share['token']}", None)
        if len(view["documents"]) != 3 or any(d["verification"] is None for d in view["documents"]):
            raise BenchError(f"share view is incomplete: {view}")
        opened = _json(server, "GET", f"/api/v1/shared/{stream_share['token']}", None)
        grant_url = opened["documents"][0]["content_url"]
        status, got = server.request("GET", grant_url)
        if status != 200 or got != big:
            raise BenchError(f"shared download: {status}, {len(got)} bytes")

        client: AsyncioClient | WrkClient = (
            WrkClient(server, workdir) if shutil.which("wrk") else AsyncioClient(server)
        )
        results["client"] = client.name
        loads = {
            "floor": Load("GET /health/live", 64, seconds, 200, 0, paths=["/health/live"]),
            "open": Load(
                "GET /api/v1/shared/{token} (3 docs)",
                64,
                seconds,
                200,
                0,
                paths=[f"/api/v1/shared/{share['token']}"],
            ),
            "download_floor": Load(
                "owner download 200 KB",
                16,
                seconds / 2,
                200,
                len(big),
                paths=[f"/api/v1/documents/{big_id}/content"],
                headers={"Authorization": f"Bearer {token}"},
            ),
            "download": Load(
                "shared download 200 KB (grant)", 16, seconds / 2, 200, len(big), paths=[grant_url]
            ),
        }
        measured: dict[str, LoadResult] = {}
        for key, load in loads.items():
            print(f"load: {load.name} ...", flush=True)
            measured[key] = client.run(load)
            server.check_alive()
        if args.profile:
            print("profiling the share open load with py-spy ...", flush=True)
            results["profile"] = profile_server(server, client, loads["open"], workdir)
            prof = results["profile"]
            for name, pct in prof.get("threads_pct", []):
                print(f"  thread {name}: {pct}%")
            for name, pct in prof.get("project_inclusive_pct", [])[:20]:
                print(f"  {pct:5.1f}%  {name}")
            for name, pct in prof.get("self_pct", [])[:20]:
                print(f"  self {pct:5.1f}%  {name}")
        results["loads"] = {k: v.to_json() for k, v in measured.items()}
        fl, op = measured["floor"], measured["open"]
        dfl, dl = measured["download_floor"], measured["download"]
        rows = [
            ("share open req/s", op.per_s, fl.per_s, TARGETS["open_vs_floor_min"], "ratio"),
            ("share open p99 ms", op.p99_ms, None, TARGETS["open_p99_max_ms"], "max"),
            ("shared 200 KB MB/s", dl.mbps, dfl.mbps, None, "ratio"),
        ]
        results["rows"] = []
        print(f"\n{'figure':<24}{'value':>12}{'floor':>12}{'ratio':>8}  target")
        for name, value, floor, target, kind in rows:
            ratio = value / floor if floor else None
            verdict = ""
            if target is not None and kind == "ratio" and ratio is not None:
                verdict = f"≥{target:.2f}× {'PASS' if ratio >= target else 'MISS'}"
            elif target is not None and kind == "max":
                verdict = f"≤{target:.0f} {'PASS' if value <= target else 'MISS'}"
            print(
                f"{name:<24}{value:>12.1f}{(floor or 0):>12.1f}"
                f"{(f'{ratio:.2f}×' if ratio else '-'):>8}  {verdict}"
            )
            results["rows"].append(
                {"figure": name, "value": value, "floor": floor, "ratio": ratio, "target": verdict}
            )
        print(f"(share open p50 {op.p50_ms:.1f} ms; floor p99 {fl.p99_ms:.1f} ms; {client.name})")
        RESULTS_DIR.mkdir(exist_ok=True)
        out = RESULTS_DIR / f"share-{datetime.now(UTC):%Y%m%d-%H%M%S}.json"
        out.write_text(json.dumps(results, indent=2, default=str))
        print(f"wrote {out}")
        return 0
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--profile", action="store_true", help="also py-spy the server")
    try:
        return run(parser.parse_args())
    except BenchError as exc:
        print(f"bench failed: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
