"""The coordinator model: a star with private channels between the coordinator and each site.

Sites talk only to the coordinator; a site-to-site message raises ModelViolation.
"""

from __future__ import annotations

from .base import COORDINATOR, StarModel


class CoordinatorModel(StarModel):
    name = "coordinator"
    description = "star: a coordinator and s sites on private channels; site-to-site is refused"

    def path(self, party, dst, route, bits):
        if party.name != COORDINATOR and dst != COORDINATOR:
            raise self.violation(party, f"sent {bits} bits to {dst}, but a site may only send to {COORDINATOR}")
        return super().path(party, dst, route, bits)
