"""The servicing engine: the rules of servicing-rules.md as plain Python, one module per rule.

`Decimal` and `date` in, values out; no ORM and no settings, so every rule is tested without a
database. The persisted side (services, the close job, `simulate`) calls `run()`, and every page,
document and job asks the rule's own function for a figure the agreement defines:

- terms.py       the note's terms and the bounds on any figure or date
- events.py      what happens to a note, and the rules an event breaks on its own
- calendar.py    business days and month arithmetic
- notices.py     when a notice is deemed received (8(b))
- accrual.py     what a day accrues; periods, billing, due dates (`next_due_date`)
- waterfall.py   applying money: the payment order, payments, unapplied funds
- defaults.py    Events of Default, payment default, `cure_deadline`, `past_due`, default interest
- acceleration.py acceleration and maturity: when principal falls due
- conversion.py  conversion price (`reference_average`), `conversion_amount`, shares
- prepayment.py  prepayment and the holder's `conversion_window`
- assignment.py  principal assigned out (8(j))
- money.py       rounding to the cent and the exact split
- keys.py        the ledger's keys, built, parsed and described
- replay.py      `run()`: the order of one day, step by step
"""

from servicing.engine import (
    acceleration,
    accrual,
    calendar,
    conversion,
    defaults,
    keys,
    notices,
    prepayment,
    waterfall,
)
from servicing.engine.errors import RuleError
from servicing.engine.events import (
    AccelerationNotice,
    Assignment,
    Conversion,
    Cost,
    CovenantBreach,
    Event,
    Insolvency,
    Misrepresentation,
    Payment,
    Prepayment,
    check_events,
    horizon,
)
from servicing.engine.replay import run
from servicing.engine.results import Balances, ConversionDone, PaymentApplied, Posting, PrepaymentDone, Result
from servicing.engine.state import State
from servicing.engine.terms import Terms

__all__ = [
    "AccelerationNotice",
    "Assignment",
    "Balances",
    "Conversion",
    "ConversionDone",
    "Cost",
    "CovenantBreach",
    "Event",
    "Insolvency",
    "Misrepresentation",
    "Payment",
    "PaymentApplied",
    "Posting",
    "Prepayment",
    "PrepaymentDone",
    "Result",
    "RuleError",
    "State",
    "Terms",
    "accrual",
    "acceleration",
    "calendar",
    "check_events",
    "conversion",
    "defaults",
    "horizon",
    "keys",
    "notices",
    "prepayment",
    "run",
    "waterfall",
]
