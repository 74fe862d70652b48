"""The servicing engine: the rules of servicing-rules.md as plain Python.

`Decimal` and `date` in, values out; no ORM and no settings, so every rule is tested without a
database. The persisted side (services, the close job, `simulate`) calls `run()`.
"""

from servicing.engine.errors import RuleError
from servicing.engine.run import (
    AccelerationNotice,
    Conversion,
    Cost,
    CovenantBreach,
    Insolvency,
    Misrepresentation,
    Payment,
    Prepayment,
    Result,
    State,
    Terms,
    run,
)

__all__ = [
    "AccelerationNotice",
    "Conversion",
    "Cost",
    "CovenantBreach",
    "Insolvency",
    "Misrepresentation",
    "Payment",
    "Prepayment",
    "Result",
    "RuleError",
    "State",
    "Terms",
    "run",
]
