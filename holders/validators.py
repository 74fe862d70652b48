from django.core.exceptions import ValidationError


def one_line(value: str) -> None:
    """A name, number or reference is one line of text: no line breaks or other control characters."""
    if any(ord(c) < 32 or c == "\x7f" for c in value):
        raise ValidationError("must be one line, without line breaks or control characters", code="one_line")
