from notes.models import Approval
from servicing.models import APPROVE


def navigation(request):
    """For the navigation bar: how many items await an approver."""
    from servicing.views import QUEUE

    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not user.has_perm(APPROVE):
        return {}
    return {"nav_pending": sum(model.objects.filter(approval=Approval.PENDING).count() for model, _, _ in QUEUE)}
