"""Properties that hold for any note and any events (hypothesis)."""

import dataclasses
from datetime import date, timedelta
from decimal import Decimal as D
from unittest.mock import patch

from hypothesis import given, settings
from hypothesis import strategies as st

from servicing.engine import (
    AccelerationNotice,
    Assignment,
    Conversion,
    Cost,
    CovenantBreach,
    Insolvency,
    Misrepresentation,
    Payment,
    Prepayment,
    State,
    Terms,
    replay,
    run,
)
from servicing.engine.money import EXACT, split_largest_remainder, to_cents

START = date(2023, 12, 15)

money = st.decimals(min_value=D("1000.00"), max_value=D("5000000.00"), places=2)
rates = st.decimals(min_value=D("0.001"), max_value=D("0.25"), places=4)
offsets = st.integers(min_value=0, max_value=400)


def terms(principal, rate):
    return Terms(START, date(2024, 12, 16), principal, rate, conversion_price=D("3.00"))


@settings(max_examples=60, deadline=None)
@given(principal=money, rate=rates, convert_on=st.integers(min_value=1, max_value=120), share=st.integers(1, 99))
def test_a_periods_interest_is_the_sum_of_its_days_rounded_once(principal, rate, convert_on, share):
    day = START + timedelta(days=convert_on)
    converted = to_cents(principal * share / 100)
    t = terms(principal, rate)
    r = run(t, [Conversion("c", day, day, converted)], date(2024, 5, 31))
    for p in r.periods:
        exact = D(0)
        d = p.start
        while d <= p.end:
            outstanding = principal - converted if d >= day else principal
            exact = EXACT.add(exact, EXACT.divide(EXACT.multiply(outstanding, rate), D(365)))
            d += timedelta(days=1)
        assert p.interest == to_cents(exact), p


payments = st.lists(
    st.tuples(offsets, st.decimals(min_value=D("0.01"), max_value=D("400000.00"), places=2)), max_size=12
)


@settings(max_examples=60, deadline=None)
@given(principal=money, rate=rates, paid=payments)
def test_a_payment_is_never_lost(principal, rate, paid):
    t = terms(principal, rate)
    events = [Payment(str(i), START + timedelta(days=o), amount) for i, (o, amount) in enumerate(paid)]
    r = run(t, events, date(2025, 2, 28))
    for p in r.payments:
        applied = p.to_default_interest + p.to_interest + p.to_principal + p.to_costs
        assert applied + p.to_unapplied == p.amount
    # Everything received is either applied to something owed or still held as unapplied funds.
    received = sum((e.amount for e in events), D(0))
    applied = -sum(
        (x.amount for x in r.postings if x.kind in ("payment", "unapplied_applied") and x.account != "unapplied"),
        D(0),
    )
    assert applied + r.balances.unapplied == received
    assert r.balances.unapplied >= 0 and r.balances.principal >= 0


@settings(max_examples=40, deadline=None)
@given(principal=money, rate=rates, paid=payments, split=st.integers(min_value=0, max_value=420))
def test_going_on_from_any_day_gives_the_same_ledger(principal, rate, paid, split):
    t = terms(principal, rate)
    events = [Payment(str(i), START + timedelta(days=o), amount) for i, (o, amount) in enumerate(paid)]
    end = date(2025, 2, 28)
    whole = run(t, events, end)
    first = run(t, events, START + timedelta(days=split))
    rest = run(t, events, end, State.from_json(first.state.to_json()))
    assert first.postings + rest.postings == whole.postings
    assert rest.balances == whole.balances


@settings(max_examples=60, deadline=None)
@given(
    principal=money,
    rate=rates,
    day=st.integers(min_value=0, max_value=300),
    cuts=st.lists(st.integers(min_value=1, max_value=10_000), min_size=1, max_size=4),
    kept=st.integers(min_value=0, max_value=10_000),
)
def test_an_assignment_splits_principal_to_the_cent_and_interest_to_a_cent_a_note(principal, rate, day, cuts, kept):
    """8(j): the assignor's note and the substitutes carry the original principal to the cent, and
    in each period their interest differs from the unassigned note's by at most a cent a note."""
    on = START + timedelta(days=day)
    parts = split_largest_remainder(principal, [D(kept), *map(D, cuts)])[1:]  # what each assignee takes
    parts = [p for p in parts if p > 0]
    through = date(2024, 12, 20)
    t = terms(principal, rate)
    whole = run(t, [], through)
    assignor = run(t, [Assignment("a", on, sum(parts))], through)
    substitutes = [run(Terms(**vars(t) | {"principal": p, "accrues_from": on}), [], through) for p in parts]
    notes = [assignor, *substitutes]
    assert sum(r.balances.principal for r in notes) == whole.balances.principal == principal
    for period in whole.periods:
        pieces = [p.interest for r in notes for p in r.periods if p.end == period.end]
        assert abs(sum(pieces) - period.interest) <= D("0.01") * len(notes), period


@settings(max_examples=200, deadline=None)
@given(
    amount=st.decimals(min_value=D("0.01"), max_value=D("10000000.00"), places=2),
    shares=st.lists(st.decimals(min_value=D("0.000001"), max_value=D("0.5"), places=6), max_size=5),
)
def test_a_payment_split_among_holder_and_participants_adds_up_to_the_cent(amount, shares):
    """8(j): each party gets its exact share within a cent, and the parts add up to the payment."""
    shares = [s for s in shares if s > 0]
    while sum(shares) > 1:
        shares.pop()
    weights = [D(1) - sum(shares, D(0)), *shares]
    parts = split_largest_remainder(amount, weights)
    assert sum(parts) == amount
    for part, weight in zip(parts, weights, strict=True):
        assert abs(part - amount * weight) < D("0.01")


def day(offset: int) -> date:
    return START + timedelta(days=offset)


any_event = st.one_of(
    st.builds(lambda o, a: Payment("p", day(o), a), offsets, st.decimals(D("0.01"), D("60000.00"), places=2)),
    st.builds(lambda o, a: Cost("k", day(o), a), offsets, st.decimals(D("0.01"), D("5000.00"), places=2)),
    st.builds(lambda o, n: CovenantBreach("b", day(o), day(o + n) if n else None), offsets, st.integers(0, 60)),
    st.builds(lambda o, n: Misrepresentation("m", day(o), day(o + n) if n else None), offsets, st.integers(0, 60)),
    st.builds(lambda o: Insolvency("i", day(o)), offsets),
    st.builds(lambda o: AccelerationNotice("a", day(o), day(o + 3)), offsets),
    st.builds(lambda o, a: Conversion("c", day(o), day(o + 2), a), offsets, st.decimals(D("1.00"), D("900.00"))),
    st.builds(lambda o, a: Prepayment("x", day(o), day(o + 1), day(o + 30), a), offsets, st.just(D("500.00"))),
    st.builds(lambda o, a: Assignment("s", day(o), a), offsets, st.decimals(D("1.00"), D("900.00"), places=2)),
)


@settings(max_examples=150, deadline=None)
@given(principal=money, rate=rates, events=st.lists(any_event, max_size=8), spread=st.sampled_from(["0.03", "0.05"]))
def test_quiet_days_accrued_in_one_move_give_what_day_by_day_gives(principal, rate, events, spread):
    """The replay steps over quiet days; one that walks every day must give every figure alike."""
    t = Terms(START, date(2024, 12, 16), principal, rate, conversion_price=D("3.00"), default_rate_spread=D(spread))
    events = [dataclasses.replace(e, ref=f"{e.ref}{i}") for i, e in enumerate(events)]
    end = date(2025, 6, 30)
    stepped = run(t, events, end, strict=False)
    with patch.object(replay._Replay, "quiet_through", lambda self, s, d, through: None):
        daily = run(t, events, end, strict=False)
    assert stepped.postings == daily.postings
    assert stepped.periods == daily.periods
    assert stepped.defaults == daily.defaults
    assert stepped.balances == daily.balances
    assert stepped.state.to_json() == daily.state.to_json()
    assert stepped.refused == daily.refused
