"""Pages benchmark: server time of the wallet (200 papers) and of the share landing (3
papers, cached reports) at 16 concurrent clients, next to the framework floor of the same
server, and the weight of each page with its stylesheet and scripts.

    .venv/bin/python bench/pages.py            # full run (~1 min)
    .venv/bin/python bench/pages.py --quick    # short run (~30 s)
    .venv/bin/python bench/pages.py --profile  # also py-spy the server under each page

One run starts its own server on the embedded default (``kho demo`` then ``kho serve``;
see ``bench/ingest.py``), fills the demo citizen's vault to 200 papers, shares three of
them and opens the link once (so their verification reports are cached), then measures:

  floor    ``GET /health/live`` (a hello-world JSON answer of the same app)
  wallet   ``GET /`` signed in (the session cookie): the first 50 of 200 papers, badges
  landing  ``GET /s/{token}``: an opening of a 3-paper share (a use, the audit event and
           the outbox event written, reports from the cache)

Both pages are asked for as a browser does after its first visit: with the CSRF cookie
the first answer set (the wallet with the session cookie too).

Targets (issue #6): p95 ≤ 50 ms for both pages, and each page ≤ 150 KB with what it
loads.  Each row also shows its throughput as a fraction of the floor's (×floor) and the
server's CPU time per request: the machine is shared, so compare those within one run.
Prints a table and writes ``bench/results/pages-<timestamp>.json``; exit 0 even on MISS.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import argparse
import http.client
import json
import re
import shutil
import tempfile
from datetime import UTC, datetime
from typing import Any

from bench.ingest import (
    HOST,
    RESULTS_DIR,
    AsyncioClient,
    BenchError,
    Load,
    Server,
    WrkClient,
    login,
    multipart_body,
    profile_server,
    upload_once,
)
from kho.samples import make_pdf

TARGETS = {"p95_max_ms": 50.0, "page_weight_max_kb": 150.0}
PAPERS = 200


def _json(server: Server, method: str, path: str, token: str, body: Any = None) -> Any:
    status, answer = server.request(
        method,
        path,
        body=json.dumps(body).encode() if body is not None else None,
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )
    if status >= 300:
        raise BenchError(f"{method} {path}: {status} {answer[:300]!r}")
    return json.loads(answer) if answer else None


def csrf_cookie(server: Server, path: str, headers: dict[str, str]) -> str:
    """The CSRF cookie a page sets on a first visit: a browser sends it back with every
    later request (without it, every answer would mint and set a new one)."""
    conn = http.client.HTTPConnection(HOST, server.port, timeout=60)
    try:
        conn.request("GET", path, headers=headers)
        resp = conn.getresponse()
        resp.read()
        for name, value in resp.getheaders():
            if name.lower() == "set-cookie" and value.startswith("kho_csrf="):
                return value.split(";", 1)[0]
    finally:
        conn.close()
    raise BenchError(f"GET {path}: no CSRF cookie")


def page_weight(server: Server, path: str, headers: dict[str, str]) -> dict[str, Any]:
    """The page's HTML plus every stylesheet, script and image it links (same site)."""
    status, html = server.request("GET", path, headers=headers)
    if status != 200:
        raise BenchError(f"GET {path}: {status}")
    assets = sorted(set(re.findall(rb'(?:href|src)="(/static/[^"]+)"', html)))
    sizes = {"html": len(html)}
    for asset in assets:
        st, body = server.request("GET", asset.decode())
        if st != 200:
            raise BenchError(f"GET {asset!r}: {st}")
        sizes[asset.decode()] = len(body)
    return {"bytes": sum(sizes.values()), "parts": sizes}


def run(args: argparse.Namespace) -> int:
    seconds = 6.0 if args.quick else 15.0
    workdir = Path(tempfile.mkdtemp(prefix="kho-bench-pages-"))
    server = Server(workdir)
    results: dict[str, Any] = {"started_at": datetime.now(UTC).isoformat(), "targets": TARGETS}
    try:
        server.start()
        token = login(server)
        existing = _json(server, "GET", "/api/v1/documents?limit=100", token)["items"]
        for i in range(PAPERS - len(existing)):
            pdf = make_pdf([f"Giấy tờ số {i}"])
            upload_once(server, token, multipart_body(f"Giấy tờ số {i}", f"p{i}.pdf", pdf), pdf)
        shared = [d["id"] for d in existing if d["provenance"] != "uploaded"][:3]
        share = _json(
            server,
            "POST",
            "/api/v1/shares",
            token,
            {"document_ids": shared, "ttl_seconds": 86400, "purpose": "bench"},
        )
        landing = f"/s/{share['token']}"
        status, _ = server.request("GET", landing)  # the reports are cached from here on
        if status != 200:
            raise BenchError(f"share landing: {status}")
        session_cookie = {"Cookie": f"kho_session={token}"}
        cookie = {"Cookie": f"kho_session={token}; {csrf_cookie(server, '/', session_cookie)}"}
        browser = {"Cookie": csrf_cookie(server, "/v", {})}
        status, wallet_html = server.request("GET", "/", headers=cookie)
        if status != 200 or b"badge" not in wallet_html:
            raise BenchError(f"wallet: {status}")
        results["weight"] = {
            "wallet": page_weight(server, "/", cookie),
            "landing": page_weight(server, landing, browser),
        }
        client: WrkClient | AsyncioClient = (
            WrkClient(server, workdir) if shutil.which("wrk") else AsyncioClient(server)
        )
        results["client"] = client.name
        loads = {
            "floor": Load("GET /health/live", 16, seconds, 200, 0, paths=["/health/live"]),
            "wallet": Load("GET / (200 papers)", 16, seconds, 200, 0, paths=["/"], headers=cookie),
            "landing": Load(
                "GET /s/{token} (3 papers)", 16, seconds, 200, 0, paths=[landing], headers=browser
            ),
        }
        measured = {}
        for key, load in loads.items():
            print(f"load: {load.name} ...", flush=True)
            measured[key] = client.run(load)
            server.check_alive()
        results["loads"] = {k: v.to_json() for k, v in measured.items()}
        if args.profile:
            results["profile"] = {}
            for key in ("wallet", "landing"):
                print(f"profiling {loads[key].name} with py-spy ...", flush=True)
                prof = profile_server(server, client, loads[key], workdir)
                results["profile"][key] = prof
                raw = workdir / "profile.txt"
                if raw.exists():
                    RESULTS_DIR.mkdir(exist_ok=True)
                    shutil.copy(raw, RESULTS_DIR / f"pages-profile-{key}.txt")
                for name, pct in prof.get("threads_pct", []):
                    print(f"  thread {name}: {pct}%")
                for name, pct in prof.get("project_inclusive_pct", [])[:15]:
                    print(f"  {pct:5.1f}%  {name}")
                for name, pct in prof.get("self_pct", [])[:15]:
                    print(f"  self {pct:5.1f}%  {name}")
        floor = measured["floor"]
        head = f"{'page':<27}{'req/s':>7}{'×floor':>8}{'p50':>7}{'p90':>7}{'p95':>7}{'p99':>7}"
        print(f"\n{head}{'CPU ms':>8}{'KB':>7}  target")

        def row(name: str, r: Any, kb: str) -> str:
            cpu = 1000 * r.server_cpu_s / r.requests if r.requests else float("nan")
            return (
                f"{name:<27}{r.per_s:>7.0f}{r.per_s / floor.per_s:>8.3f}{r.p50_ms:>7.1f}"
                f"{r.p90_ms:>7.1f}{r.p95_ms or float('nan'):>7.1f}{r.p99_ms:>7.1f}"
                f"{cpu:>8.2f}{kb:>7}"
            )

        print(row("floor /health/live", floor, ""))
        for key in ("wallet", "landing"):
            r = measured[key]
            kb = results["weight"][key]["bytes"] / 1024
            p95_ok = r.p95_ms is not None and r.p95_ms <= TARGETS["p95_max_ms"]
            weight = "PASS" if kb <= TARGETS["page_weight_max_kb"] else "MISS"
            print(
                row(loads[key].name, r, f"{kb:.1f}")
                + f"  p95 ≤ 50 ms {'PASS' if p95_ok else 'MISS'}; ≤ 150 KB {weight}"
            )
        print("(CPU ms: the server's CPU time per request, all its threads)")
        print(f"({client.name}; latencies in ms; the floor in the same run)")
        RESULTS_DIR.mkdir(exist_ok=True)
        out = RESULTS_DIR / f"pages-{datetime.now(UTC):%Y%m%d-%H%M%S}.json"
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
