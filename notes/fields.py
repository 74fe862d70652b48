"""Decimal columns that give back exactly what they were given, on every database.

PostgreSQL's `numeric` does so already. SQLite has no decimal type: Django's DecimalField is a
NUMERIC column there, which keeps a decimal as a floating-point number of 15 significant digits
(0.99999999999999999999 comes back as 1.0, 12345678901234.56 as 12345678901234.6). There an
ExactDecimalField is a text column instead, written with exactly the column's decimal places,
compared and sorted as a number by the `decimal` collation (registered on every connection by
`notes.apps`), and read back with `Decimal`. Adding such columns up in SQL on SQLite goes through
floating point again: `servicing.selectors.MoneySum` adds money exactly, as whole cents.

On every database, saving a value the column cannot hold exactly (more decimal places than it
keeps, more digits before the point) raises DataError instead of rounding it; the services refuse
such input first, with `refusal`'s message.
"""

from decimal import Decimal, InvalidOperation

from django.db import DataError, models

COLLATION = "decimal"


def decimal_places(value: Decimal) -> int:
    """The digits after the point, trailing zeros not counted: 0.0750 has three, 1E+3 none."""
    _, digits, exponent = value.as_tuple()
    if not any(digits):
        return 0
    while exponent < 0 and digits[-1] == 0:
        digits, exponent = digits[:-1], exponent + 1
    return max(-exponent, 0)


def digits(n: int) -> str:
    return "1 digit" if n == 1 else f"{n} digits"


def compare(a: str, b: str) -> int:
    """The `decimal` collation: numbers in numeric order, before any text that is not one."""

    def key(text):
        try:
            number = Decimal(text)
        except InvalidOperation:
            return (1, Decimal(0), text)
        return (0, number, "") if number.is_finite() else (1, Decimal(0), text)

    ka, kb = key(a), key(b)
    return (ka > kb) - (ka < kb)


def register_collation(sender, connection, **kwargs):
    if connection.vendor == "sqlite":
        connection.connection.create_collation(COLLATION, compare)


class ExactDecimalField(models.DecimalField):
    def get_internal_type(self):
        # Not "DecimalField": Django's SQLite backend reads those through a float.
        return "ExactDecimalField"

    def db_type(self, connection):
        if connection.vendor == "sqlite":
            return f"text COLLATE {COLLATION}"
        return connection.data_types["DecimalField"] % self.db_type_parameters(connection)

    def refusal(self, value) -> str | None:
        """Why the column cannot hold `value` exactly, naming the field; None when it can."""
        value = self.to_python(value)
        whole = self.max_digits - self.decimal_places
        if not value.is_finite() or value.copy_abs() >= Decimal(10) ** whole:
            return f"{self.name} {value}: at most {digits(whole)} before the decimal point"
        if decimal_places(value) > self.decimal_places:
            return f"{self.name} {value}: at most {digits(self.decimal_places)} after the decimal point"
        return None

    def formfield(self, **kwargs):
        """A form field with the column's digits (or fewer, given), whose refusal names the field."""
        places = kwargs.get("decimal_places", self.decimal_places)
        whole = kwargs.get("max_digits", self.max_digits) - places
        rule = f"{self.name} %(value)s: at most {digits(whole)} before the decimal point and {places} after it"
        messages = dict.fromkeys(["max_digits", "max_decimal_places", "max_whole_digits"], rule)
        return super().formfield(**{"error_messages": messages, **kwargs})

    def get_db_prep_save(self, value, connection):
        if value is not None and not hasattr(value, "as_sql"):
            why = self.refusal(value)
            if why:
                raise DataError(f"{self.model.__name__}.{why} (the column would not keep it exactly)")
        return super().get_db_prep_save(value, connection)

    def get_db_prep_value(self, value, connection, prepared=False):
        if connection.vendor != "sqlite":
            return super().get_db_prep_value(value, connection, prepared)
        if not prepared:
            value = self.get_prep_value(value)
        value = self.to_python(value)
        if value is None:
            return None
        if value == 0:
            value = value.copy_abs()  # -0.00 is 0.00
        if self.refusal(value) is None:
            # Exactly the column's places: a money column's text is its cents with a point (MoneySum).
            value = value.quantize(Decimal(1).scaleb(-self.decimal_places), context=self.context)
        return format(value, "f")

    def from_db_value(self, value, expression, connection):
        if value is None or isinstance(value, Decimal):
            return value
        if isinstance(value, float):
            raise TypeError(
                f"{expression} was computed in floating point by the database; "
                "add money with servicing.selectors.MoneySum"
            )
        return Decimal(value)


def rewrite_on_sqlite(app_label: str):
    """A migration step after columns became ExactDecimalField: on SQLite, the values copied from
    the old NUMERIC columns are text such as '365000.0'; each is written again with exactly its
    column's places ('365000.00'), as every later write is."""

    def rewrite(apps, schema_editor):
        if schema_editor.connection.vendor != "sqlite":
            return
        for model in apps.get_app_config(app_label).get_models():
            fields = [f.name for f in model._meta.concrete_fields if isinstance(f, ExactDecimalField)]
            if fields:
                rows = list(model._base_manager.only(*fields))
                model._base_manager.bulk_update(rows, fields, batch_size=500)

    return rewrite
