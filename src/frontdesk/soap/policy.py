"""What differs between SOAP faces: one policy object per face (ARCHITECTURE.md 10.7)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from frontdesk.soap.faults import SoapFault

# (fault, operation local name or None when the operation is not known yet) -> (HTTP status, body)
FaultRenderer = Callable[[SoapFault, str | None], tuple[int, bytes]]


@dataclass(frozen=True, slots=True)
class Limits:
    """Checked before (bytes) and right after (structure) parsing, so no face sees a hostile tree."""

    max_bytes: int = 1_048_576
    max_depth: int = 32
    max_elements: int = 10_000
    max_attributes: int = 64
    # Longest text node or attribute value in characters; None: only lxml's own limits.
    max_text: int | None = None


@dataclass(frozen=True, slots=True)
class SoapPolicy:
    render_fault: FaultRenderer
    limits: Limits = field(default_factory=Limits)
    # "text" and/or "digest": the UsernameToken password types the face accepts.
    password_types: frozenset[str] = frozenset({"text", "digest"})
    # Header blocks (local names) the face processes; anything else with mustUnderstand faults.
    understood_headers: frozenset[str] = frozenset({"Security"})
    # Some stacks write mustUnderstand unqualified; faces decide whether that counts.
    unqualified_must_understand: bool = False
    # True: authenticate before the operation is looked up (an unknown operation then needs
    # credentials too); False: dispatch first, as the RightNow processing order says.
    auth_before_dispatch: bool = False
    # False: header blocks other than Security are ignored even with mustUnderstand="1"
    # (CRM On Demand, crmod-cti.md §2.3).
    enforce_must_understand: bool = True
