"""ServicePattern error codes (servicepattern.md §2) and the mapping of engine errors onto them."""

from __future__ import annotations

import logging

from frontdesk.domain import errors as engine_errors

log = logging.getLogger("frontdesk.faces.servicepattern")

MESSAGES: dict[str, str] = {
    "1000": "Missing or invalid tenantUrl",
    "2000": "Authorization header is missing",
    "2001": "Authorization parameter format is incorrect",
    "2002": "Authorization scheme is incorrect",
    "2003": "Authorization parameter is missing: appId",
    "2004": "Authorization parameter is missing: clientId",
    "3000": "Missing or invalid application unique id",
    "5000": "Timeout - chat server takes too long to respond",
    "5001": "No server is available to accept chat connection",
    "5003": "Error decoding JSON request body: ",
    "5004": "Chat server disconnected",
    "5005": "Chat session is not found",
    "5006": "Mobile Launch Point (application) is not found",
    "5500": "Internal server error",
    "5501": "Upload size limit exceeded",
    "5502": "File not found",
    "5509": "Too many concurrent poll requests for the same session",
    "5558": "File operation error",
    "5955": "Unspecified server error",
    "5601": "No case is specified for this session.",
    "5602": "CRM server responded with error.",
    "5603": "Too many parameters.",
}

STATUS: dict[str, int] = {
    "1000": 403,
    "2000": 403,
    "2001": 403,
    "2002": 403,
    "2003": 403,
    "2004": 403,
    "3000": 403,
    "5000": 503,
    "5001": 503,
    "5003": 400,
    "5004": 503,
    "5005": 404,
    "5006": 403,
    "5500": 500,
    "5501": 400,
    "5502": 404,
    "5509": 429,
    "5558": 400,
    "5955": 404,
    "5601": 406,
    "5602": 500,
    "5603": 406,
}


class SpError(Exception):
    """A wire error: ``code`` (string of digits), HTTP ``status`` and ``message``."""

    def __init__(
        self,
        code: str,
        status: int | None = None,
        message: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(code)
        self.code = code
        self.status = status if status is not None else STATUS[code]
        self.message = message if message is not None else MESSAGES[code]
        self.headers = headers


def bad_json(detail: str, status: int = 400) -> SpError:
    """5003 with the parser's detail appended to the fixed prefix."""
    return SpError("5003", status, MESSAGES["5003"] + detail)


def not_found() -> SpError:
    return SpError("5005")


def from_engine(exc: engine_errors.FrontdeskError) -> SpError:
    """Map an engine error to the face's wire error (§2 table)."""
    if isinstance(exc, engine_errors.ChatNotFound | engine_errors.ChatEnded | engine_errors.NotParticipant):
        return SpError("5005")
    if isinstance(exc, engine_errors.QueueClosed | engine_errors.QueueFull | engine_errors.Unavailable):
        return SpError("5001")
    if isinstance(exc, engine_errors.EntryPointDisabled | engine_errors.EntryPointNotFound):
        return SpError("5006")
    if isinstance(exc, engine_errors.PayloadTooLarge):
        return SpError("5501")
    if isinstance(exc, engine_errors.UnsupportedMediaType):
        return SpError("5558", 400, exc.detail)
    if isinstance(exc, engine_errors.FileNotFound):
        return SpError("5502")
    if isinstance(exc, engine_errors.InvalidRequest | engine_errors.DuplicateClientMsgId):
        return bad_json(exc.detail)
    if isinstance(exc, engine_errors.RateLimited):
        return SpError("5500", 429, "Too many requests", {"Retry-After": "1"})
    log.warning("unmapped engine error %s: %s", exc.code, exc.detail)
    return SpError("5500", 500, exc.detail)
