from django.core.exceptions import ValidationError
from django.db import transaction

from holders.models import Holder


@transaction.atomic
def holder_create(
    *,
    name: str,
    kind: str = Holder.Kind.INDIVIDUAL,
    email: str = "",
    notice_address: str = "",
    telecopy: str = "",
    by=None,
) -> Holder:
    holder = Holder(kind=kind, name=name.strip(), email=email, notice_address=notice_address, telecopy=telecopy)
    try:
        holder.full_clean()
    except ValidationError as e:
        raise ValidationError({f: [f"{f}: {m}" for m in msgs] for f, msgs in e.message_dict.items()}) from None
    holder._history_user = by
    holder.save()
    return holder
