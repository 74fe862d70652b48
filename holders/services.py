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
    entity_type: str = "",
    organized_in: str = "",
    signatory_name: str = "",
    signatory_title: str = "",
    by=None,
) -> Holder:
    holder = Holder(
        kind=kind,
        name=name.strip(),
        email=email,
        notice_address=notice_address,
        telecopy=telecopy,
        entity_type=entity_type,
        organized_in=organized_in,
        signatory_name=signatory_name,
        signatory_title=signatory_title,
    )
    try:
        holder.full_clean()
    except ValidationError as e:
        raise ValidationError({f: [f"{f}: {m}" for m in msgs] for f, msgs in e.message_dict.items()}) from None
    holder._history_user = by
    holder.save()
    return holder
