"""Talking to the target: :mod:`.compose` (Compose v2 through consign.process),
:mod:`.sdk` (the Docker SDK client, ssh:// included, and what its failures mean),
:mod:`.fields` (reading engine timestamps and inspect JSON), :mod:`.reference` (the
engine's image reference grammar)."""
