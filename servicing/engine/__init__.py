"""The servicing engine: the rules of servicing-rules.md as plain Python.

`Decimal` and `date` in, values out; no ORM and no settings, so every rule is tested without a
database. The persisted side (services, the close job, `simulate`) calls `run()`.
"""

from servicing.engine import conversion, keys, notices
from servicing.engine.errors import RuleError
from servicing.engine.replay import (
    AccelerationNotice,
    Assignment,
    Balances,
    Conversion,
    Cost,
    CovenantBreach,
    Event,
    Insolvency,
    Misrepresentation,
    Payment,
    Posting,
    Prepayment,
    Result,
    State,
    Terms,
    run,
)

__all__ = [
    "AccelerationNotice",
    "Assignment",
    "Balances",
    "conversion",
    "keys",
    "notices",
    "Conversion",
    "Cost",
    "Event",
    "CovenantBreach",
    "Insolvency",
    "Misrepresentation",
    "Payment",
    "Posting",
    "Prepayment",
    "Result",
    "RuleError",
    "State",
    "Terms",
    "run",
]
