from __future__ import annotations

from django.core.management.base import BaseCommand

from pagedesk.core.demo import PERSONAS, demo_load, demo_password


class Command(BaseCommand):
    help = "Load the demo users and campaign (safe to run again: existing data is kept)."

    def handle(self, *args: object, **options: object) -> None:
        result = demo_load()
        if result.campaign_created:
            self.stdout.write("Created the demo campaign “Acme Support”.")
        self.stdout.write("Demo logins (username / password):")
        for username, role, _first, _last in PERSONAS:
            note = "" if username in result.created_users else "  (already existed; password unchanged)"
            self.stdout.write(f"  {role:<10} {username:<6} / {demo_password(username)}{note}")
