"""Whether a host stays on this machine: what the dashboard binds to without a token, and the Host header it
answers without one (against DNS rebinding)."""

from __future__ import annotations

import ipaddress

#: The names every resolver maps to the loopback interface (`*.localhost` only some do: not accepted)
LOOPBACK_NAMES = frozenset({"localhost", "ip6-localhost"})


def is_loopback(host: str) -> bool:
    """Whether a host name or address (no port; IPv6 in brackets or not) is this machine's loopback:
    127.0.0.0/8, ::1, localhost."""
    host = host.strip("[]").lower()
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
