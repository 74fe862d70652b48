"""The address a request came from, as the login throttle (django-axes) counts failures by it.

Behind the TLS proxy every request reaches gunicorn from the proxy's own address (127.0.0.1): counted
by that, five failures for a user name from anywhere would lock that user out for everyone. A request
from a trusted proxy (TRUSTED_PROXY_IPS) is therefore counted by the last address of its
X-Forwarded-For, the one that proxy appended (nginx's $proxy_add_x_forwarded_for); any other request by
its own address, so a client cannot choose the address it is counted by.
"""

import ipaddress

from django.conf import settings


def _address(text: str) -> str | None:
    try:
        return str(ipaddress.ip_address(text.strip()))
    except ValueError:
        return None


def client_ip(request) -> str | None:
    remote = request.META.get("REMOTE_ADDR", "")
    if remote in settings.TRUSTED_PROXY_IPS:
        # Its end, not its start: a client writing a long header of its own must not push the
        # proxy's entry past the cut and have its own last word read instead.
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")[-100:]
        if forwarded:
            return _address(forwarded.rsplit(",", 1)[-1]) or remote
    return remote or None
