"""When a notice is deemed received (section 8(b))."""

from datetime import date, timedelta

from servicing.engine.calendar import add_business_days
from servicing.engine.errors import RuleError

METHODS = (
    "certified_mail",
    "registered_mail",
    "overnight_courier",
    "telecopy",
    "personal_delivery",
)


def deemed_received(sent: date, method: str, calendar: str) -> date:
    if method in ("certified_mail", "registered_mail"):
        return sent + timedelta(days=5)
    if method == "overnight_courier":
        return add_business_days(sent, 1, calendar)
    if method in ("telecopy", "personal_delivery"):
        return sent
    raise RuleError("method", f"unknown notice method {method!r}; use one of {', '.join(METHODS)}")
