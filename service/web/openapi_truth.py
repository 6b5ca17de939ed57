"""Make the OpenAPI document say everything a route can answer.

Litestar documents the success and the 400 of each route; the 401/403 of a route
behind a token, the 404 of one with path parameters, the 409 and 429 of a few, and
the 413 of a body that is too large it does not know about. A schema fuzzer (and a
client generated from the schema) treats an undocumented status as a bug, and it is
one. The rules below are applied once to the generated document, in one place,
so that controllers stay as they are and a new route is documented the moment it
exists:

* every route with parameters or a body can answer 400 (a field error);
* a route with ``security`` can answer 401 and 403;
* a route with path parameters can answer 404 (including "not yours": a coordinator
  gets 404 for another site's participant);
* a route with a JSON body can answer 413 (over the input guard's size);
* ``EXTRA`` adds what only some routes do (409 conflicts, 429 throttles).

On the participant's routes (``/api/v1/mobile/``) every error body also has a
``code`` (``service.web.error_codes``): each response lists the codes it can carry,
as the schema's ``enum`` and in its description.

Request bodies are msgspec structs that forbid unknown fields; their component
schemas get ``additionalProperties: false`` so the document says so too.
"""

from __future__ import annotations

from typing import Any

from litestar.openapi.spec import OpenAPI, OpenAPIMediaType, OpenAPIResponse, Schema
from litestar.openapi.spec.enums import OpenAPIType

from service.web.error_codes import codes_for
from service.web.schemas.base import StrictBody

MOBILE_PREFIX = "/api/v1/mobile/"

DESCRIPTIONS = {
    "400": "A field is invalid or unknown (extra[0].key names it)",
    "401": "Missing, invalid or expired bearer token",
    "403": "The token is valid but not allowed here",
    "404": "No such resource, or not visible to the caller",
    "409": "Conflicts with what is recorded (e.g. already exists)",
    "413": "Request body too large",
    "429": "Too many attempts; Retry-After says when to try again",
    "503": "Not ready: the body's `unwell` names the parts",
}

# (method, path) -> extra statuses some routes give beyond the rules above.
EXTRA: dict[tuple[str, str], tuple[str, ...]] = {
    ("post", "/api/v1/auth/token"): ("401", "429"),
    ("post", "/api/v1/participants"): ("409",),
    ("patch", "/api/v1/participants/{study_id}"): ("409",),
    ("post", "/api/v1/participants/{study_id}/infusions"): ("409",),
    ("put", "/api/v1/participants/{study_id}/visits/{visit_code}"): ("409",),
    ("post", "/api/v1/participants/{study_id}/withdraw"): ("409",),
    ("post", "/api/v1/alerts/{alert_id}/acknowledge"): ("409",),
    ("post", "/api/v1/inbox/{item_id}/close"): ("409",),
    ("post", "/api/v1/mobile/me/checkins/symptoms"): ("404", "409"),
    ("post", "/api/v1/mobile/me/checkins/pregnancy"): ("404", "409"),
    ("post", "/api/v1/mobile/auth/verify"): ("429",),
    ("put", "/api/v1/mobile/me/preferences"): ("409",),
    ("post", "/webhooks/twilio/sms"): ("403",),
    ("post", "/webhooks/twilio/status"): ("403",),
    ("get", "/health/ready"): ("503",),
}

_METHODS = ("get", "put", "post", "delete", "patch")


def _error_schema(codes: list[str] | None = None) -> Schema:
    """Litestar's error shape; with ``codes``, the participant routes' ``code`` too."""
    extra: dict[str, Schema] = {}
    if codes:
        extra["code"] = Schema(
            type=OpenAPIType.STRING,
            enum=list(codes),
            description="stable, machine-readable; detail is worded for the participant",
        )
    return Schema(
        type=OpenAPIType.OBJECT,
        required=["status_code", "detail", *extra],
        properties={
            **extra,
            "status_code": Schema(type=OpenAPIType.INTEGER),
            "detail": Schema(type=OpenAPIType.STRING),
            "extra": Schema(
                one_of=[
                    Schema(type=OpenAPIType.NULL),
                    Schema(type=OpenAPIType.OBJECT),
                    Schema(type=OpenAPIType.ARRAY),
                ]
            ),
        },
    )


def _error_response(code: str, mobile: bool = False) -> OpenAPIResponse:
    codes = codes_for(int(code)) if mobile else []
    description = DESCRIPTIONS[code]
    if codes:
        description += f" (code: {', '.join(codes)})"
    return OpenAPIResponse(
        description=description,
        content={"application/json": OpenAPIMediaType(schema=_error_schema(codes))},
    )


def _request_struct_names() -> set[str]:
    names: set[str] = set()
    pending: list[type[Any]] = [StrictBody]
    while pending:
        cls = pending.pop()
        names.add(cls.__name__)
        pending.extend(cls.__subclasses__())
    names.discard(StrictBody.__name__)
    return names


def tell_the_truth(document: OpenAPI) -> OpenAPI:
    """Add the statuses each operation can give, in place; returns the document."""
    for path, item in (document.paths or {}).items():
        for method in _METHODS:
            operation = getattr(item, method, None)
            if operation is None:
                continue
            params = operation.parameters or []
            path_params = "{" in path
            codes: set[str] = set(EXTRA.get((method, path), ()))
            if params or operation.request_body is not None or path_params:
                codes.add("400")
            if operation.security:
                codes.update({"401", "403"})
            if path_params:
                codes.add("404")
            if operation.request_body is not None:
                codes.add("413")
            responses = operation.responses or {}
            mobile = path.startswith(MOBILE_PREFIX)
            for code in sorted(codes):
                if mobile and code.startswith("4"):
                    responses[code] = _error_response(code, mobile=True)
                else:
                    responses.setdefault(code, _error_response(code))
            operation.responses = responses
    forbidding = _request_struct_names()
    schemas = document.components.schemas if document.components else None
    for name, schema in (schemas or {}).items():
        if name in forbidding and isinstance(schema, Schema):
            schema.additional_properties = False
    return document
