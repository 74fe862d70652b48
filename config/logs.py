"""What LOGGING (config/settings.py) adds to a line beyond structlog's own processors.

Django writes its "Not Found" and "Forbidden" lines (logger django.request) once the middleware has
run, after django-structlog has cleared the request's context: those lines get their request_id
from the request they name, which keeps it."""

import re

from django_structlog import signals

REQUEST_ID = "_log_request_id"
# A query parameter whose name says it holds a secret (no page of the site takes one; a client may
# still send one, e.g. a scraper told to pass the metrics token so) is logged masked.
SECRET_PARAMETER = re.compile(r"token|passw|secret|key|auth|session|csrf", re.IGNORECASE)
MASK = "********"


def remember_request_id(request, logger, log_kwargs, **kwargs) -> None:
    """django-structlog's request_started signal: the request keeps the id bound for it, and its lines
    name the client's address as the login throttle counts it (servicing.client_ip: X-Forwarded-For
    only from a trusted proxy, and only the entry that proxy appended). django-structlog's own (off:
    DJANGO_STRUCTLOG_IP_LOGGING_ENABLED) believes the first entry, which any client writes."""
    import structlog

    from servicing.client_ip import client_ip

    structlog.contextvars.bind_contextvars(ip=client_ip(request))
    mask_secrets(request, log_kwargs)
    request_id = structlog.contextvars.get_contextvars().get("request_id")
    if request_id:
        setattr(request, REQUEST_ID, request_id)


signals.bind_extra_request_metadata.connect(remember_request_id, dispatch_uid="config.logs.remember_request_id")


def mask_secrets(request, log_kwargs, **kwargs) -> None:
    """The `request` of a request's lines (method, path and query string) with the values of its
    secret-named query parameters masked."""
    try:
        names = list(request.GET)
    except Exception:  # noqa: BLE001 - a query Django refuses to read (too many fields): not written at all
        log_kwargs["request"] = f"{request.method} {request.path}?{MASK}"
        return
    if not any(SECRET_PARAMETER.search(name) for name in names):
        return
    query = request.GET.copy()
    for name in query:
        if SECRET_PARAMETER.search(name):
            query.setlist(name, [MASK] * len(query.getlist(name)))
    log_kwargs["request"] = f"{request.method} {request.path}?{query.urlencode(safe='*')}"


signals.bind_extra_request_finished_metadata.connect(mask_secrets, dispatch_uid="config.logs.mask_finished")
signals.bind_extra_request_failed_metadata.connect(mask_secrets, dispatch_uid="config.logs.mask_failed")


def request_id_of_record(logger, method_name, event_dict):
    """A stdlib line about a request (Django passes it as `extra={"request": …}`) names its request_id."""
    record = event_dict.get("_record")
    request = getattr(record, "request", None)
    request_id = getattr(request, REQUEST_ID, None)
    if request_id and "request_id" not in event_dict:
        event_dict["request_id"] = request_id
    return event_dict
