"""From request bytes to (envelope, operation) in the order a face's policy asks for.

Faults raised once the operation is known carry its name in ``SoapFault.operation`` so that the
face's renderer can pick the operation's fault style (RightNow answers site and chat-server
operations in different styles).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection

from frontdesk.soap.envelope import Envelope, check_must_understand, parse_envelope
from frontdesk.soap.faults import SoapFault
from frontdesk.soap.policy import SoapPolicy

Authenticate = Callable[[Envelope], Awaitable[None]]


async def dispatch(
    data: bytes, policy: SoapPolicy, operations: Collection[str], authenticate: Authenticate
) -> tuple[Envelope, str]:
    env = parse_envelope(data, policy)
    name = env.operation_name
    known = name if env.operation is not None and name in operations else None
    try:
        if policy.auth_before_dispatch:
            check_must_understand(env, policy)
            await authenticate(env)
        if known is None:
            raise SoapFault("UNKNOWN_OPERATION")
        if not policy.auth_before_dispatch:
            check_must_understand(env, policy)
            await authenticate(env)
    except SoapFault as fault:
        fault.operation = known
        raise
    return env, known
