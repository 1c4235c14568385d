"""Signal receivers that feed core's Prometheus metrics from other apps' events."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_login_failed
from django.dispatch import receiver

from pagedesk.core import metrics


@receiver(user_login_failed, dispatch_uid="pagedesk.core.receivers.count_login_failure")
def count_login_failure(sender: Any, **kwargs: Any) -> None:
    """Every failed `authenticate()`: a wrong password, an unknown user, or an attempt django-axes refused
    during a lock-out (its backend raises PermissionDenied, which Django reports through this signal)."""
    metrics.login_failures.inc()
