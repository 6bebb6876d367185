"""The one error hierarchy of the engine.

Every face maps these classes to its own wire error (ServicePattern error_code, SOAP fault, problem
documents); the engine never knows how an error is rendered, only its stable code.
"""

from __future__ import annotations

from typing import ClassVar


class FrontdeskError(Exception):
    """Base of every engine error; ``code`` is stable and clients branch on it."""

    code: ClassVar[str] = "internal_error"
    status: ClassVar[int] = 500
    title: ClassVar[str] = "Unexpected error"

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title


class InvalidRequest(FrontdeskError):
    code = "invalid_request"
    status = 400
    title = "Invalid request"

    def __init__(self, detail: str | None = None, errors: list[tuple[str, str]] | None = None) -> None:
        super().__init__(detail)
        self.errors = errors or []


class Unauthenticated(FrontdeskError):
    code, status, title = "unauthenticated", 401, "Authentication required"


class InvalidCredentials(FrontdeskError):
    code, status, title = "invalid_credentials", 401, "Invalid credentials"


class NotAuthorized(FrontdeskError):
    code, status, title = "not_authorized", 403, "Not authorized"


class NotFound(FrontdeskError):
    code, status, title = "not_found", 404, "Not found"


class ChatNotFound(FrontdeskError):
    code, status, title = "chat_not_found", 404, "Chat not found"


class OfferNotFound(FrontdeskError):
    code, status, title = "offer_not_found", 404, "Offer not found"


class FileNotFound(FrontdeskError):
    code, status, title = "file_not_found", 404, "File not found"


class QueueNotFound(FrontdeskError):
    code, status, title = "queue_not_found", 404, "Queue not found"


class UserNotFound(FrontdeskError):
    code, status, title = "user_not_found", 404, "User not found"


class EntryPointNotFound(FrontdeskError):
    code, status, title = "entry_point_not_found", 404, "Entry point not found"


class MethodNotAllowed(FrontdeskError):
    code, status, title = "method_not_allowed", 405, "Method not allowed"


class OfferGone(FrontdeskError):
    code, status, title = "offer_gone", 409, "The offer was accepted, rejected, revoked or expired"


class ChatEnded(FrontdeskError):
    code, status, title = "chat_ended", 409, "The chat has ended"


class NotParticipant(FrontdeskError):
    code, status, title = "not_participant", 409, "The caller is no longer a participant of the chat"


class NotChatLead(FrontdeskError):
    code, status, title = "not_chat_lead", 409, "Only the lead agent may do this"


class InvalidState(FrontdeskError):
    code, status, title = "invalid_state", 409, "Not allowed in the current state"


class AgentNotReady(FrontdeskError):
    code, status, title = "agent_not_ready", 409, "The agent is logged out"


class AgentAtCapacity(FrontdeskError):
    code, status, title = "agent_at_capacity", 409, "The target agent has no free chat slot"


class TransferTargetUnavailable(FrontdeskError):
    code, status, title = "transfer_target_unavailable", 409, "The transfer target is unavailable"


class TransferInProgress(FrontdeskError):
    code, status, title = "transfer_in_progress", 409, "A transfer or invitation is already pending"


class QueueClosed(FrontdeskError):
    code, status, title = "queue_closed", 409, "The queue is outside its opening hours"


class QueueFull(FrontdeskError):
    code, status, title = "queue_full", 409, "The queue has reached max_waiting"


class EntryPointDisabled(FrontdeskError):
    code, status, title = "entry_point_disabled", 409, "The entry point takes no new chats"


class NotSupported(FrontdeskError):
    code, status, title = "not_supported", 409, "The chat's face cannot carry this to the customer"


class WrapupNotPending(FrontdeskError):
    code, status, title = "wrapup_not_pending", 409, "No wrap-up is pending for the caller on this chat"


class DuplicateClientMsgId(FrontdeskError):
    code, status, title = "duplicate_client_msg_id", 409, "The client_msg_id was used before"


class AlreadyExists(FrontdeskError):
    code, status, title = "already_exists", 409, "An object with this key exists"


class UnsupportedMediaType(FrontdeskError):
    code, status, title = "unsupported_media_type", 415, "Unsupported media type"


class PayloadTooLarge(FrontdeskError):
    code, status, title = "payload_too_large", 413, "Payload too large"


class AuthLocked(FrontdeskError):
    code, status, title = "auth_locked", 429, "Too many failed sign-ins; try later"


class RateLimited(FrontdeskError):
    code, status, title = "rate_limited", 429, "Too many requests"


class Unavailable(FrontdeskError):
    code, status, title = "unavailable", 503, "Service unavailable"


_CLASSES: list[type[FrontdeskError]] = [FrontdeskError, *FrontdeskError.__subclasses__()]
ALL_ERRORS: dict[str, type[FrontdeskError]] = {sub.code: sub for sub in _CLASSES}
