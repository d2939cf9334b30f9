"""Health and metrics endpoints."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Response, get

from api import schemas as s
from api.deps import Blobs, DatabaseDep, MetricsDep, Vault


class OpsController(Controller):
    path = "/"
    tags = ["operations"]
    include_in_schema = True

    @get("/health/live", operation_id="Live", cache=False)
    async def live(self) -> s.Health:
        return s.Health(status="ok")

    @get("/health/ready", operation_id="Ready", cache=False)
    async def ready(self, database: DatabaseDep, blobs: Blobs) -> Response[s.Health]:
        checks: dict[str, str] = {}
        try:
            await database.ping()
            checks["database"] = "ok"
        except Exception as exc:  # Note: readiness reports, it does not raise
            checks["database"] = f"failing: {type(exc).__name__}"
        try:
            await blobs.check()
            checks["blobs"] = "ok"
        except Exception as exc:
            checks["blobs"] = f"failing: {type(exc).__name__}"
        ok = all(v == "ok" for v in checks.values())
        return Response(
            s.Health(status="ok" if ok else "failing", checks=checks),
            status_code=200 if ok else 503,
        )

    @get("/metrics", operation_id="Metrics", include_in_schema=False)
    async def metrics(self, vault: Vault, metrics: MetricsDep) -> Response[Any]:
        count, total = await vault.storage_totals()
        return Response(
            metrics.render(documents=count, stored_bytes=total),
            media_type=metrics.content_type,
        )
