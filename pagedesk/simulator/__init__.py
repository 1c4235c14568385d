"""pagedesk's Facebook simulator: a separate process that speaks Facebook's Messenger/Graph HTTP contract.

Run it with `pagedesk simulator` or `python -m pagedesk.simulator`; see docs/simulator.md. This package
never imports pagedesk's product code (no Django, no database), so it can stand in for Facebook anywhere.
"""
