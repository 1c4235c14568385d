"""`pagedesk apitoken`: here, in campaigns, and not beside createuser in accounts, because an
integration's token needs the integration, which belongs to campaigns (a layer above accounts)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from pagedesk.accounts.models import User
from pagedesk.accounts.services import api_token_create
from pagedesk.campaigns.selectors import integration_get_by_name
from pagedesk.campaigns.services import (
    integration_create,
    integration_token_create,
    integration_update_campaigns,
)
from pagedesk.core.errors import ApplicationError


class Command(BaseCommand):
    help = (
        "Print a new API token (send it as `Authorization: Bearer <token>`): a user's personal token "
        "(--username), or an integration's (--integration NAME --campaign ID …), which creates the "
        "integration, or reuses the one of that name and sets its campaigns to those given."
    )

    def add_arguments(self, parser) -> None:
        who = parser.add_mutually_exclusive_group(required=True)
        who.add_argument("--username", help="A user's personal token: it acts as that user.")
        who.add_argument("--integration", help="An integration's token: it acts only in its campaigns.")
        parser.add_argument(
            "--campaign",
            type=int,
            action="append",
            default=[],
            metavar="ID",
            help="A campaign the integration works in (repeat for several); required with --integration.",
        )
        parser.add_argument("--name", default="cli", help="A label to recognise the token by.")

    def handle(
        self,
        *args: object,
        username: str | None,
        integration: str | None,
        campaign: list[int],
        name: str,
        **options: object,
    ) -> None:
        if username is not None:
            if campaign:
                raise CommandError(
                    "--campaign is for an integration's token; a user's token acts as the user."
                )
            user = User.objects.filter(username=username, is_active=True).first()
            if user is None:
                raise CommandError(f"There is no active user named “{username}”.")
            _token, raw = api_token_create(user=user, name=name)
            self.stdout.write(raw)
            return
        assert integration is not None
        if not campaign:
            raise CommandError("Give the integration's campaigns: --campaign ID (repeat for several).")
        try:
            found = integration_get_by_name(name=integration)
            if found is None:
                found = integration_create(name=integration, campaign_ids=campaign, created_by=None)
                self.stderr.write(f"Created the integration “{found.name}” (user {found.user.username}).")
            else:
                integration_update_campaigns(integration=found, campaign_ids=campaign)
            _token, raw = integration_token_create(integration=found, name=name)
        except ApplicationError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(raw)
