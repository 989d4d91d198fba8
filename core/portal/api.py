"""The JSON API for vendors' export jobs: a per-provider token, scoped (upload, read), in
`Authorization: Bearer ...`. Upload a delivery, poll its status, list and fetch its reports.
`/api/openapi.json` describes every route (`OPENAPI`, tested against the routes themselves)."""
from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from .. import __version__
from .pages import accept_upload, report_response
from .web import portal, readable_delivery, token_principal, visible_provider

_P = "/api/v1/providers/{agb}/{branch}"


async def upload(request: Request):
    """POST multipart/form-data with `zip` (the delivery) and optionally `phase` (test|production)."""
    who = await run_in_threadpool(token_principal, request)
    agb, branch = request.path_params["agb"], request.path_params["branch"]
    if not who.can_upload(agb, branch):
        raise HTTPException(403, "This token may not upload for that provider.")
    async with request.form(max_files=1, max_fields=4) as form:
        file = form.get("zip")
        if file is None or isinstance(file, str):
            raise HTTPException(400, "Send the delivery as the multipart field `zip`.")
        phase = form.get("phase") or None
        if phase not in (None, "test", "production"):
            raise HTTPException(400, "phase is test or production.")
        checked, d = await run_in_threadpool(accept_upload, portal(request), who, file, agb, branch, phase)
    if d is None:
        return JSONResponse({"error": checked.refused, "name": checked.name}, status_code=422)
    status = await run_in_threadpool(portal(request).status, d)
    return JSONResponse({**status, "notes": checked.notes, "status_url": f"/api/v1/deliveries/{d.id}"},
                        status_code=202)


def deliveries(request: Request):
    """The provider's deliveries, newest first, with where each is."""
    who = token_principal(request)
    agb, branch = request.path_params["agb"], request.path_params["branch"]
    visible_provider(request, who, agb, branch)
    p = portal(request)
    return JSONResponse(p.statuses(list(reversed(p.store().deliveries(agb, branch)))))


def delivery(request: Request):
    """One delivery's status: poll it until `done`."""
    who = token_principal(request)
    d = readable_delivery(request, who, int(request.path_params["delivery"]))
    return JSONResponse(portal(request).status(d))


def reports(request: Request):
    """The names of a delivery's kept reports, with where to fetch each."""
    who = token_principal(request)
    d = readable_delivery(request, who, int(request.path_params["delivery"]))
    return JSONResponse([{"name": n, "url": f"/api/v1/deliveries/{d.id}/reports/{n}"} for n in sorted(d.reports)])


def report(request: Request):
    """One kept report, as a download."""
    who = token_principal(request)
    d = readable_delivery(request, who, int(request.path_params["delivery"]))
    return report_response(request, d, request.path_params["name"], True)


def openapi(request: Request):
    """This API's OpenAPI 3.1 document."""
    return JSONResponse(OPENAPI)


def _op(summary: str, *, params=(), body=None, responses=None) -> dict:
    op = {"summary": summary, "security": [{"token": []}],
          "parameters": [{"name": n, "in": "path", "required": True, "schema": {"type": t}} for n, t in params],
          "responses": {"401": {"description": "no token, or an unknown or revoked one"},
                        "404": {"description": "no such delivery or provider, or not this token's"},
                        **(responses or {"200": {"description": "OK"}})}}
    if body:
        op["requestBody"] = body
    return op


_PROVIDER = (("agb", "string"), ("branch", "string"))
_DELIVERY = (("delivery", "integer"),)
OPENAPI = {
    "openapi": "3.1.0",
    "info": {"title": "disval portal API", "version": __version__,
             "description": "Deliver DIS data deliveries and fetch what became of them. A token belongs to one "
                            "provider and has scopes upload and/or read."},
    "components": {"securitySchemes": {"token": {"type": "http", "scheme": "bearer"}}},
    "paths": {
        _P + "/deliveries": {
            "post": _op("Upload a delivery zip (scope upload); it is checked at once and queued", params=_PROVIDER,
                        body={"required": True, "content": {"multipart/form-data": {"schema": {
                            "type": "object", "required": ["zip"], "properties": {
                                "zip": {"type": "string", "format": "binary"},
                                "phase": {"type": "string", "enum": ["test", "production"]}}}}}},
                        responses={"202": {"description": "kept and queued: its status"},
                                   "413": {"description": "larger than the portal accepts"},
                                   "422": {"description": "refused at once (name, not a zip, zip bomb); nothing kept"}}),
            "get": _op("The provider's deliveries, newest first (scope read)", params=_PROVIDER),
        },
        "/api/v1/deliveries/{delivery}": {"get": _op("A delivery's status and timeline (scope read)",
                                                     params=_DELIVERY)},
        "/api/v1/deliveries/{delivery}/reports": {"get": _op("A delivery's kept reports (scope read)",
                                                             params=_DELIVERY)},
        "/api/v1/deliveries/{delivery}/reports/{name}": {"get": _op(
            "One report, in the format its name ends with (scope read)", params=(*_DELIVERY, ("name", "string")))},
        "/api/openapi.json": {"get": {"summary": "This document", "responses": {"200": {"description": "OK"}}}},
    },
}

ROUTES = [
    Route(_P + "/deliveries", upload, methods=["POST"], name="api_upload"),
    Route(_P + "/deliveries", deliveries, methods=["GET"], name="api_deliveries"),
    Route("/api/v1/deliveries/{delivery:int}", delivery, name="api_delivery"),
    Route("/api/v1/deliveries/{delivery:int}/reports", reports, name="api_reports"),
    Route("/api/v1/deliveries/{delivery:int}/reports/{name}", report, name="api_report"),
    Route("/api/openapi.json", openapi, name="openapi"),
]
