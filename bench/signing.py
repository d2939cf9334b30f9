"""Signing benchmark: Kho's PAdES seals against pyHanko's floor, measured in one run.

    .venv/bin/python bench/signing.py            # full run (~1.5 min)
    .venv/bin/python bench/signing.py --quick    # short run (~30 s)

In process, for RSA-2048 and ECDSA P-256 keys from a fresh demo PKI, on a 100 KB and a
5 MB PDF (``kho.samples.make_pdf(["x"], padding=N)``):

  floor        pyHanko B-B: SimpleSigner whose key is parsed once, ``bytes_reserved``
               preset, so one signature per seal (the fastest pyHanko can do)
  floor+TSA    the same at B-T with the in-process TSA (``LocalTimeStamper``)
  stock        pyHanko's SimpleSigner as shipped (re-parses the key on every signature,
               no preset size: a dry run signs twice), for reference
  Kho B-B      ``signing.Sealer.seal(level="B-B")`` (keys in a SoftwareKeyStore)
  Kho B-LT     ``Sealer.seal(level="B-LT")`` with the in-process TSA and the PKI's CRLs

The variants run interleaved in rounds so drift hits all alike; each figure is the p50
latency with its ratio to the floor measured in the same run.  Peak memory while Kho
seals the 5 MB PDF comes from tracemalloc: (the input + the peak of new allocations)
divided by the PDF's size, i.e. how many copies of the PDF were alive at once.  Two
copies are the floor (the input, and the output that holds it plus the signature); the
verdict passes when no third copy was alive: peak new allocations <= the output's
size + a tenth of the input (pyHanko's objects, the DSS update, the presized buffer's
spare room).

Over HTTP (a real ``kho serve`` on the embedded default: temporary KHO_DATA_DIR,
``kho demo`` for agency credentials, then ``kho serve``): the sealed deposit
``POST /api/v1/agency/deposits`` with ``sign=true`` at B-B and B-LT, one client, keep-alive,
next to the same deposit unsigned.  A server that refuses ``sign=true`` (400/404/405/422)
yields "not available yet" for those rows.  The citizen CSC flow (start + authorize +
signHash + embed) has a marked place in ``measure_http`` to fill once its endpoints exist.

Prints a table (figure, value, floor, ratio, target, PASS/MISS/info) and writes the numbers
to ``bench/results/signing-<timestamp>.json``.  Exit status 0 even on MISS; non-zero only
when the run itself fails.
"""

from __future__ import annotations

import sys
from pathlib import Path

# Note: this script is named like the ``signing`` package and running it puts bench/
# first on sys.path, where it would shadow that package; the project root goes first.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import argparse
import asyncio
import http.client
import json
import logging
import os
import platform
import shutil
import statistics
import subprocess
import tempfile
import time
import tracemalloc
import urllib.parse
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from io import BytesIO
from typing import Any

from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives import serialization
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.validation import async_validate_pdf_signature
from pyhanko_certvalidator.registry import SimpleCertificateStore

# The server lifecycle (``kho demo`` then ``kho serve`` on a fresh data dir) is the
# ingest benchmark's; bench/ is a namespace package under the project root.
from bench.ingest import HOST, BenchError, Server
from kho.samples import make_pdf
from signing import DemoPki, LocalTimeStamper, PkiSettings, Sealer, TimeStampAuthority
from signing.keys.software import SoftwareKeyStore, sign_with
from signing.models import Credential
from signing.pades import validation_context
from vault.keys import LocalKeyRing

KB, MB = 1_000, 1_000_000
SIZES = {"100KB": 100 * KB, "5MB": 5 * MB}
ALGORITHMS = ("rsa-2048", "ecdsa-p256")
PERSONAL_ID = "001090000001"  # a demo citizen: deposits land in an existing vault
BOUNDARY = "kho-bench-5e0c9a1f"
RESULTS_DIR = Path(__file__).resolve().parent / "results"

TARGETS = {
    "kho_bb_vs_floor_max": 1.3,  # Kho's in-process B-B seal / floor
    "memory_copies_max": 2.0,  # copies of a 5 MB PDF alive while sealing it (input, output)
    "memory_slack_fraction": 0.1,  # besides the output, of the input's size
    "http_bb_p50_max_ms": 40.0,  # sealed deposit of 100 KB over HTTP, B-B
    "http_blt_vs_floor_tsa_max": 3.0,  # same at B-LT / (floor + TSA round trip)
    "csc_p50_max_ms": 60.0,  # citizen CSC flow over HTTP, 100 KB
}


@dataclass
class Plan:
    quick: bool
    rounds: int
    slice_s: float  # per variant and round
    http_small: int  # requests per 100 KB HTTP row
    http_large: int

    @classmethod
    def make(cls, quick: bool) -> Plan:
        if quick:
            return cls(True, 3, 0.25, 15, 4)
        return cls(False, 6, 0.6, 60, 12)


@dataclass
class Timing:
    latencies_ms: list[float] = field(default_factory=list)

    @property
    def n(self) -> int:
        return len(self.latencies_ms)

    @property
    def p50(self) -> float:
        return statistics.median(self.latencies_ms) if self.latencies_ms else float("nan")

    @property
    def p99(self) -> float:
        s = sorted(self.latencies_ms)
        if not s:
            return float("nan")
        return s[min(len(s) - 1, round(0.99 * (len(s) - 1)))]

    @property
    def per_s(self) -> float:
        return 1000 * self.n / sum(self.latencies_ms) if self.latencies_ms else float("nan")

    def as_dict(self) -> dict[str, float]:
        return {"n": self.n, "p50_ms": self.p50, "p99_ms": self.p99, "per_s": self.per_s}


# -- in process ------------------------------------------------------------------------------


class CachedKeySigner(signers.SimpleSigner):
    """The floor: pyHanko's SimpleSigner with the key parsed once (cryptography object)."""

    def __init__(
        self,
        key: Any,
        cert: asn1_x509.Certificate,
        chain: list[asn1_x509.Certificate],
        algorithm: str,
    ) -> None:
        pkcs8 = key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        super().__init__(
            signing_cert=cert,
            signing_key=asn1_keys.PrivateKeyInfo.load(pkcs8),
            cert_registry=SimpleCertificateStore.from_certs(chain),
        )
        self._key = key
        self._family = "ecdsa" if algorithm.startswith("ecdsa") else "rsa"

    async def async_sign_raw(
        self, data: bytes, digest_algorithm: str, dry_run: bool = False
    ) -> bytes:
        return sign_with(self._key, data, f"{digest_algorithm}_{self._family}")  # type: ignore[arg-type]


def stock_signer(
    key: Any, cert: asn1_x509.Certificate, chain: list[asn1_x509.Certificate]
) -> signers.SimpleSigner:
    pkcs8 = key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return signers.SimpleSigner(
        signing_cert=cert,
        signing_key=asn1_keys.PrivateKeyInfo.load(pkcs8),
        cert_registry=SimpleCertificateStore.from_certs(chain),
    )


async def pyhanko_sign(
    pdf: bytes,
    signer: signers.Signer,
    *,
    bytes_reserved: int | None,
    timestamper: Any = None,
) -> bytes:
    meta = signers.PdfSignatureMetadata(
        field_name="Signature1", md_algorithm="sha256", subfilter=fields.SigSeedSubFilter.PADES
    )
    out = BytesIO()
    await signers.PdfSigner(meta, signer, timestamper=timestamper).async_sign_pdf(
        IncrementalPdfFileWriter(BytesIO(pdf), strict=False),
        bytes_reserved=bytes_reserved,
        output=out,
    )
    return out.getvalue()


@dataclass
class Setup:
    algorithm: str
    pki: DemoPki
    agency: Credential
    sealer: Sealer
    floor: CachedKeySigner
    stock: signers.SimpleSigner
    timestamper: LocalTimeStamper
    reserved_bb: int
    reserved_bt: int


async def make_setup(root: Path, algorithm: str) -> Setup:
    ring = LocalKeyRing({"b": os.urandom(32)}, "b")
    settings = PkiSettings(base_url="http://kho.bench", key_algorithm=algorithm)  # type: ignore[arg-type]
    pki = DemoPki.open(root / algorithm, ring, settings)
    agency = pki.agency_seal("000.00.01.H29", "Sở Tư pháp thành phố Hà Nội")
    store = pki.key_store
    assert isinstance(store, SoftwareKeyStore)
    # Note: the floor signs with the very key and certificate Kho seals with; the bench
    # takes it from the software store's cache (never done outside this benchmark).
    _, key = store._load(agency.key_id)
    cert = asn1_x509.Certificate.load(agency.certificate)
    chain = [asn1_x509.Certificate.load(c) for c in agency.chain]
    timestamper = LocalTimeStamper(TimeStampAuthority(store, pki.tsa))
    sealer = Sealer(store, timestamper=timestamper, validation_material=pki.validation_material)
    # The floor reserves what Kho reserves, so both write the same /Contents size.
    kho_signer = sealer.signer(agency)
    reserved_bb = await sealer._reserve(kho_signer, "B-B")
    reserved_bt = await sealer._reserve(kho_signer, "B-T")
    return Setup(
        algorithm,
        pki,
        agency,
        sealer,
        CachedKeySigner(key, cert, chain, algorithm),
        stock_signer(key, cert, chain),
        timestamper,
        reserved_bb,
        reserved_bt,
    )


def variants(s: Setup) -> dict[str, Callable[[bytes], Awaitable[bytes]]]:
    return {
        "floor": lambda pdf: pyhanko_sign(pdf, s.floor, bytes_reserved=s.reserved_bb),
        "floor_tsa": lambda pdf: pyhanko_sign(
            pdf, s.floor, bytes_reserved=s.reserved_bt, timestamper=s.timestamper
        ),
        "stock": lambda pdf: pyhanko_sign(pdf, s.stock, bytes_reserved=None),
        "kho_bb": lambda pdf: s.sealer.seal(pdf, s.agency, level="B-B"),
        "kho_blt": lambda pdf: s.sealer.seal(pdf, s.agency, level="B-LT"),
    }


async def check_valid(s: Setup, signed: bytes, what: str) -> None:
    reader = PdfFileReader(BytesIO(signed))
    status = await async_validate_pdf_signature(
        reader.embedded_signatures[0], validation_context(s.pki.validation_material())
    )
    if not (status.intact and status.valid and status.trusted):
        raise BenchError(f"{what}: the signature does not validate ({status.summary()})")


async def measure_in_process(s: Setup, pdfs: dict[str, bytes], plan: Plan) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for size_name, pdf in pdfs.items():
        fns = variants(s)
        for name, fn in fns.items():  # warm-up, and a check that each output validates
            signed = await fn(pdf)
            if signed[: len(pdf)] != pdf:
                raise BenchError(f"{name}: not an incremental update")
            if size_name == "100KB":
                await check_valid(s, signed, f"{s.algorithm} {name}")
        timings = {name: Timing() for name in fns}
        for _ in range(plan.rounds):
            for name, fn in fns.items():
                t = timings[name]
                end = time.perf_counter() + plan.slice_s
                while True:
                    t0 = time.perf_counter()
                    await fn(pdf)
                    t.latencies_ms.append((time.perf_counter() - t0) * 1000)
                    if time.perf_counter() >= end:
                        break
        out[size_name] = {name: t.as_dict() for name, t in timings.items()}
    return out


async def measure_memory(s: Setup, pdf: bytes) -> dict[str, Any]:
    res: dict[str, Any] = {"pdf_bytes": len(pdf)}
    for level in ("B-B", "B-LT"):
        await s.sealer.seal(pdf, s.agency, level=level)  # caches warm, as in a server
        tracemalloc.start()
        try:
            base = tracemalloc.get_traced_memory()[0]
            signed = await s.sealer.seal(pdf, s.agency, level=level)
            peak = tracemalloc.get_traced_memory()[1] - base
        finally:
            tracemalloc.stop()
        res[level] = {
            "peak_new_bytes": peak,
            "output_bytes": len(signed),
            "copies": (len(pdf) + peak) / len(pdf),
        }
        del signed
    return res


# -- over HTTP -------------------------------------------------------------------------------


class Client:
    """One keep-alive HTTP/1.1 connection."""

    def __init__(self, port: int) -> None:
        self.conn = http.client.HTTPConnection(HOST, port, timeout=120)

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, bytes]:
        try:
            self.conn.request(method, path, body=body, headers=headers or {})
            resp = self.conn.getresponse()
        except (BrokenPipeError, ConnectionResetError, http.client.RemoteDisconnected):
            # Note: the server closes a connection idle past its keep-alive timeout
            # (e.g. while `kho user create` runs between flows); open a new one.
            self.conn.close()
            self.conn.request(method, path, body=body, headers=headers or {})
            resp = self.conn.getresponse()
        return resp.status, resp.read()

    def close(self) -> None:
        self.conn.close()


def deposit_body(pdf: bytes, *, sign: bool, level: str) -> bytes:
    fields_ = [("personal_id", PERSONAL_ID)]
    if sign:
        fields_ += [("sign", "true"), ("level", level)]
    fields_ += [("doc_type", "birth_certificate"), ("title", "Giấy khai sinh (bench)")]
    head = "".join(
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'
        for k, v in fields_
    )
    head += (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="gks.pdf"\r\n'
        "Content-Type: application/pdf\r\n\r\n"
    )
    return head.encode() + pdf + f"\r\n--{BOUNDARY}--\r\n".encode()


def agency_token(client: Client, client_id: str, client_secret: str) -> str:
    form = urllib.parse.urlencode(
        {"grant_type": "client_credentials", "client_id": client_id, "client_secret": client_secret}
    ).encode()
    status, body = client.request(
        "POST", "/api/v1/oauth/token", form, {"Content-Type": "application/x-www-form-urlencoded"}
    )
    if status != 200:
        raise BenchError(f"OAuth token: HTTP {status}: {body[:300]!r}")
    token: str = json.loads(body)["access_token"]
    return token


NOT_AVAILABLE = (400, 404, 405, 422)


def measure_deposits(
    client: Client, token: str, pdf: bytes, *, sign: bool, level: str, n: int
) -> dict[str, Any]:
    body = deposit_body(pdf, sign=sign, level=level)
    headers = {
        "Authorization": f"Bearer {token}",
        "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
    }
    timing = Timing()
    for i in range(n + 2):  # two warm-up requests
        t0 = time.perf_counter()
        status, answer = client.request("POST", "/api/v1/agency/deposits", body, headers)
        elapsed = (time.perf_counter() - t0) * 1000
        if status in NOT_AVAILABLE and sign:
            return {
                "available": False,
                "status": status,
                "detail": answer[:300].decode(errors="replace"),
            }
        if status >= 500 and sign:
            return {
                "available": False,
                "error": True,
                "status": status,
                "detail": answer[:300].decode(errors="replace"),
            }
        if status != 201:
            raise BenchError(f"deposit (sign={sign}, {level}): HTTP {status}: {answer[:500]!r}")
        if i >= 2:
            timing.latencies_ms.append(elapsed)
    return {"available": True, **timing.as_dict()}


def measure_csc_flow(server: Server, client: Client, pdf: bytes, *, n: int) -> dict[str, Any]:
    """The citizen's remote signature over HTTP, excluding human time: start
    (``POST /api/v1/documents/{id}/signatures``) then authorize with PIN + TOTP code
    (``POST /api/v1/signing-sessions/{sid}/authorize``: CSC credentials/authorize,
    signatures/signHash, embed, store).  A one-time code is accepted once per 30 s step,
    so each flow is a different citizen with a credential of their own."""
    import pyotp

    timing = Timing()
    password = "bench-password-2026"
    for i in range(n + 2):  # two warm-up flows
        pid = f"0990{i:08d}"
        made = subprocess.run(
            [
                server.kho,
                "user",
                "create",
                "--personal-id",
                pid,
                "--name",
                f"Bench {i}",
                "--password-stdin",
            ],
            input=password + "\n",
            env=server.env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        if made.returncode != 0:
            raise BenchError(f"kho user create: {made.stderr}")
        json_headers = {"Content-Type": "application/json"}
        status, body = client.request(
            "POST",
            "/api/v1/auth/login",
            json.dumps({"personal_id": pid, "password": password}).encode(),
            json_headers,
        )
        if status != 200:
            raise BenchError(f"login: HTTP {status}")
        auth = {"Authorization": f"Bearer {json.loads(body)['access_token']}"}
        status, body = client.request(
            "POST",
            "/api/v1/me/signing-credential",
            json.dumps({"pin": "135790"}).encode(),
            {**auth, **json_headers},
        )
        if status in NOT_AVAILABLE:
            return {"available": False, "status": status, "detail": body[:300].decode()}
        if status != 201:
            raise BenchError(f"enrol: HTTP {status}: {body[:300]!r}")
        totp = pyotp.TOTP(json.loads(body)["otp_secret"])
        form = (
            (
                f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="title"\r\n\r\nForm\r\n'
                f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="f.pdf"\r\n'
                "Content-Type: application/pdf\r\n\r\n"
            ).encode()
            + pdf
            + f"\r\n--{BOUNDARY}--\r\n".encode()
        )
        status, body = client.request(
            "POST",
            "/api/v1/documents",
            form,
            {**auth, "Content-Type": f"multipart/form-data; boundary={BOUNDARY}"},
        )
        if status != 201:
            raise BenchError(f"upload: HTTP {status}")
        doc_id = json.loads(body)["id"]
        code = totp.now()
        t0 = time.perf_counter()
        status, body = client.request(
            "POST", f"/api/v1/documents/{doc_id}/signatures", b"{}", {**auth, **json_headers}
        )
        if status != 201:
            raise BenchError(f"start: HTTP {status}: {body[:300]!r}")
        url = json.loads(body)["authorize_url"]
        status, body = client.request(
            "POST",
            url,
            json.dumps({"pin": "135790", "code": code}).encode(),
            {**auth, **json_headers},
        )
        elapsed = (time.perf_counter() - t0) * 1000
        if status != 201:
            raise BenchError(f"authorize: HTTP {status}: {body[:300]!r}")
        if i >= 2:
            timing.latencies_ms.append(elapsed)
    return {"available": True, **timing.as_dict()}


def measure_http(plan: Plan, pdfs: dict[str, bytes], workdir: Path) -> dict[str, Any]:
    server = Server(workdir)
    res: dict[str, Any] = {}
    try:
        server.start()
        client = Client(server.port)
        try:
            small, large = pdfs["100KB"], pdfs["5MB"]
            # Note: a seal that fails with a server error for one demo agency is recorded
            # (and reported as FAIL) and the next agency is tried, so the figures exist.
            res["agency_errors"] = []
            if not server.agencies:
                raise BenchError("no agency credentials in `kho demo` output")
            for code, client_id, secret in server.agencies:
                token = agency_token(client, client_id, secret)
                res["agency"] = code
                res["deposit_100KB_B-B"] = measure_deposits(
                    client, token, small, sign=True, level="B-B", n=plan.http_small
                )
                if not res["deposit_100KB_B-B"].get("error"):
                    break
                res["agency_errors"].append({"agency": code, **res["deposit_100KB_B-B"]})
                client.close()
                client = Client(server.port)
            res["deposit_100KB_unsigned"] = measure_deposits(
                client, token, small, sign=False, level="", n=plan.http_small
            )
            if res["deposit_100KB_B-B"]["available"]:
                res["deposit_100KB_B-LT"] = measure_deposits(
                    client, token, small, sign=True, level="B-LT", n=plan.http_small
                )
                res["deposit_5MB_B-B"] = measure_deposits(
                    client, token, large, sign=True, level="B-B", n=plan.http_large
                )
            res["csc_flow_100KB"] = measure_csc_flow(server, client, small, n=plan.http_small)
        finally:
            client.close()
        server.check_alive()
    finally:
        server.stop()
    return res


# -- the run and the report ------------------------------------------------------------------


def machine() -> dict[str, Any]:
    return {
        "nproc": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def project_rev() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            cwd=Path(__file__).resolve().parent,
            timeout=10,
        )
    except OSError:
        return None
    return out.stdout.strip() or None


async def run_in_process(plan: Plan, pdfs: dict[str, bytes], root: Path) -> dict[str, Any]:
    res: dict[str, Any] = {"in_process": {}, "memory": {}}
    for algorithm in ALGORITHMS:
        setup = await make_setup(root, algorithm)
        res["in_process"][algorithm] = await measure_in_process(setup, pdfs, plan)
        res["memory"][algorithm] = await measure_memory(setup, pdfs["5MB"])
    return res


def run(args: argparse.Namespace) -> int:
    plan = Plan.make(args.quick)
    # Note: pyHanko warns on every B-LT seal that it will not fetch revocation data;
    # Kho supplies that data itself, so the warning is noise here.
    logging.getLogger("pyhanko.sign.signers.pdf_signer").addFilter(
        lambda record: "fetching is not allowed" not in record.getMessage()
    )
    t_start = time.perf_counter()
    pdfs = {name: make_pdf(["x"], padding=size) for name, size in SIZES.items()}
    results: dict[str, Any] = {
        "mode": "quick" if plan.quick else "full",
        "project_rev": project_rev(),
        "machine": machine(),
        "started_at": datetime.now(UTC).isoformat(),
        "pdf_bytes": {name: len(pdf) for name, pdf in pdfs.items()},
        "targets": TARGETS,
    }
    workdir = Path(tempfile.mkdtemp(prefix="kho-bench-signing-", dir=args.tmpdir))
    try:
        print(f"in process: {', '.join(ALGORITHMS)} x {', '.join(SIZES)} ...", flush=True)
        results |= asyncio.run(run_in_process(plan, pdfs, workdir / "pki"))
        if args.no_http:
            results["http"] = {"skipped": True}
        else:
            print("over HTTP: kho demo + kho serve ...", flush=True)
            results["http"] = measure_http(plan, pdfs, workdir / "server")
    except BenchError as exc:
        print(f"\nRUN FAILED: {exc}", file=sys.stderr)
        return 1
    except Exception:
        import traceback

        traceback.print_exc()
        print("\nRUN FAILED (unexpected error above)", file=sys.stderr)
        return 1
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    results["elapsed_s"] = time.perf_counter() - t_start
    report(results)
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = RESULTS_DIR / f"signing-{stamp}.json"
    path.write_text(json.dumps(results, indent=2, default=str) + "\n")
    print(f"\nresults: {path}")
    return 0


def report(res: dict[str, Any]) -> None:
    T = TARGETS
    rows: list[tuple[str, ...]] = []

    def verdict(ok: bool) -> str:
        return "PASS" if ok else "MISS"

    def ratio(a: float, b: float) -> float:
        return a / b if b else float("nan")

    def ms(t: dict[str, Any]) -> str:
        return f"{t['p50_ms']:.1f} ms ({t['per_s']:.0f}/s)"

    labels = {
        "floor_tsa": "floor + local TSA (B-T)",
        "stock": "stock SimpleSigner B-B",
        "kho_bb": "Kho Sealer B-B",
        "kho_blt": "Kho Sealer B-LT, local TSA",
    }
    for algorithm, by_size in res["in_process"].items():
        for size_name, t in by_size.items():
            floor = t["floor"]
            rows.append(
                (
                    f"{algorithm} {size_name}: floor (pyHanko B-B)",
                    ms(floor),
                    "(this is the floor)",
                    "-",
                    "-",
                    "info",
                )
            )
            for name, label in labels.items():
                r = ratio(t[name]["p50_ms"], floor["p50_ms"])
                if name == "kho_bb":
                    target, result = (
                        f"<= {T['kho_bb_vs_floor_max']}x floor",
                        verdict(r <= T["kho_bb_vs_floor_max"]),
                    )
                else:
                    target, result = "-", "info"
                rows.append(
                    (
                        f"  {label}",
                        ms(t[name]),
                        f"{floor['p50_ms']:.1f} ms",
                        f"{r:.2f}x",
                        target,
                        result,
                    )
                )
    for algorithm, mem in res["memory"].items():
        mb = mem["pdf_bytes"] / MB
        for level in ("B-B", "B-LT"):
            m = mem[level]
            rows.append(
                (
                    f"{algorithm} peak memory, {mb:.0f} MB seal {level}",
                    f"{m['copies']:.2f} copies",
                    f"input + {m['peak_new_bytes'] / MB:.1f} MB new",
                    "-",
                    f"<= {T['memory_copies_max']:.0f} copies (input, output)",
                    verdict(
                        m["peak_new_bytes"]
                        <= m["output_bytes"] + T["memory_slack_fraction"] * mem["pdf_bytes"]
                    ),
                )
            )

    http = res.get("http", {})
    if http.get("skipped"):
        rows.append(("over HTTP", "skipped (--no-http)", "-", "-", "-", "-"))
    else:
        rsa_100 = res["in_process"]["rsa-2048"]["100KB"]
        floor, floor_tsa = rsa_100["floor"]["p50_ms"], rsa_100["floor_tsa"]["p50_ms"]
        unsigned = http["deposit_100KB_unsigned"]
        for err in http.get("agency_errors", []):
            rows.append(
                (
                    f"HTTP sealed deposit B-B, agency {err['agency']}",
                    f"ERROR HTTP {err['status']}",
                    "see server log",
                    "-",
                    "201",
                    "FAIL",
                )
            )
        rows.append(
            (
                f"HTTP deposit 100 KB, unsigned (agency {http['agency']})",
                ms(unsigned),
                "-",
                "-",
                "-",
                "info",
            )
        )

        def http_row(
            key: str,
            label: str,
            base: float,
            base_label: str,
            target: str,
            ok: Callable[[dict[str, Any], float], bool],
        ) -> None:
            d = http.get(key)
            if d is None:
                return
            if not d.get("available"):
                why = f"HTTP {d['status']}" if "status" in d else d.get("detail", "")
                if d.get("error"):
                    rows.append((label, f"ERROR {why}", "-", "-", target, "FAIL"))
                else:
                    rows.append((label, "not available yet", why, "-", target, "-"))
                return
            r = ratio(d["p50_ms"], base)
            rows.append(
                (
                    label,
                    f"{ms(d)} p99 {d['p99_ms']:.0f}",
                    f"{base:.1f} ms {base_label}",
                    f"{r:.2f}x",
                    target,
                    verdict(ok(d, r)),
                )
            )

        http_row(
            "deposit_100KB_B-B",
            "HTTP sealed deposit 100 KB B-B (rsa)",
            floor,
            "floor",
            f"p50 <= {T['http_bb_p50_max_ms']:.0f} ms",
            lambda d, r: d["p50_ms"] <= T["http_bb_p50_max_ms"],
        )
        http_row(
            "deposit_100KB_B-LT",
            "HTTP sealed deposit 100 KB B-LT (rsa)",
            floor_tsa,
            "floor+TSA",
            f"<= {T['http_blt_vs_floor_tsa_max']:.0f}x floor+TSA",
            lambda d, r: r <= T["http_blt_vs_floor_tsa_max"],
        )
        floor_5 = res["in_process"]["rsa-2048"]["5MB"]["floor"]["p50_ms"]
        http_row(
            "deposit_5MB_B-B",
            "HTTP sealed deposit 5 MB B-B (rsa)",
            floor_5,
            "floor",
            "-",
            lambda d, r: True,
        )
        if rows[-1][-1] == "PASS":
            rows[-1] = (*rows[-1][:-1], "info")
        http_row(
            "csc_flow_100KB",
            "HTTP citizen CSC flow 100 KB",
            floor,
            "floor",
            f"p50 <= {T['csc_p50_max_ms']:.0f} ms",
            lambda d, r: d["p50_ms"] <= T["csc_p50_max_ms"],
        )

    m = res["machine"]
    print()
    print(f"Kho signing benchmark - {res['mode']} run, rev {res.get('project_rev')}")
    print(
        f"machine: nproc={m['nproc']}, Python {m['python']}; PDFs: "
        + ", ".join(f"{k} = {v} bytes" for k, v in res["pdf_bytes"].items())
        + "; figures are p50 latency (and 1/mean as a rate)"
    )
    headers = ("figure", "value", "floor", "ratio", "target", "result")
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(headers)]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))
    print(line)
    print("-" * len(line))
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    print(f"\nelapsed {res['elapsed_s']:.0f} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="shorter run (~30 s)")
    parser.add_argument("--no-http", action="store_true", help="in-process figures only")
    parser.add_argument("--keep", action="store_true", help="keep the temporary work dir")
    parser.add_argument("--tmpdir", default=None, help="parent of the temporary work dir")
    args = parser.parse_args()
    try:
        return run(args)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
