"""Applying money (section 1): the payment order, payments received, and unapplied funds."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from servicing.engine import keys
from servicing.engine.events import Payment
from servicing.engine.money import ZERO
from servicing.engine.results import Journal, PaymentApplied
from servicing.engine.state import State


def pay_in_order(s: State, d: date, amount: Decimal) -> dict[str, Decimal]:
    """Pay `amount` in the payment order: billed interest oldest due date first (default interest
    before regular within a date), then principal that is due, then costs of collection oldest
    first. Returns what went to each account; the rest is the caller's."""
    paid_to: dict[str, Decimal] = {}

    def take(account: str, owed: Decimal) -> Decimal:
        nonlocal amount
        paid = min(amount, owed)
        if paid:
            amount -= paid
            paid_to[account] = paid_to.get(account, ZERO) + paid
        return paid

    interest = [i for i in s.items if i.account != "costs"]
    interest.sort(key=lambda i: (i.due_date, i.account != "default_interest", i.key))
    for item in interest:
        if not amount:
            break
        item.unpaid -= take(item.account, item.unpaid)
    if amount and s.principal_due_on is not None and s.principal_due_on <= d:
        s.principal -= take("principal", s.principal)
    for item in sorted((i for i in s.items if i.account == "costs"), key=lambda i: (i.billed_on, i.key)):
        if not amount:
            break
        item.unpaid -= take("costs", item.unpaid)
    s.items = [i for i in s.items if i.unpaid]
    return paid_to


def spend_unapplied(s: State, j: Journal, d: date) -> None:
    """Unapplied funds go to whatever is now payable."""
    if not s.unapplied:
        return
    paid_to = pay_in_order(s, d, s.unapplied)
    if not paid_to:
        return
    total = sum(paid_to.values())
    s.unapplied -= total
    key = keys.unapplied(d)
    j.post(d, "unapplied_applied", "unapplied", key, -total)
    for account, amount in paid_to.items():
        j.post(d, "unapplied_applied", account, key, -amount)


def receive(s: State, j: Journal, d: date, e: Payment) -> None:
    """A payment received on d, in the payment order; what nothing payable takes waits as unapplied."""
    paid_to = pay_in_order(s, d, e.amount)
    left = e.amount - sum(paid_to.values(), ZERO)
    s.unapplied += left
    key = keys.payment(e.ref)
    for account, amount in paid_to.items():
        j.post(d, "payment", account, key, -amount)
    if left:
        j.post(d, "payment", "unapplied", key, left)
    j.result.payments.append(split(e.ref, d, e.amount, paid_to, left))


def split(ref: str, d: date, amount: Decimal, paid_to: dict[str, Decimal], unapplied: Decimal) -> PaymentApplied:
    """How a payment was applied, by account."""
    return PaymentApplied(
        ref,
        d,
        amount,
        to_default_interest=paid_to.get("default_interest", ZERO),
        to_interest=paid_to.get("interest", ZERO),
        to_principal=paid_to.get("principal", ZERO),
        to_costs=paid_to.get("costs", ZERO),
        to_unapplied=unapplied,
    )
