from notes.models import Approval
from servicing.models import APPROVE


def navigation(request):
    """For the navigation bar: how many items await an approver (one query, on every page)."""
    from servicing.approvals import ON_APPROVAL

    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not user.has_perm(APPROVE):
        return {}
    pending = [model.objects.filter(approval=Approval.PENDING).order_by().values_list("pk") for model in ON_APPROVAL]
    return {"nav_pending": pending[0].union(*pending[1:], all=True).count()}
