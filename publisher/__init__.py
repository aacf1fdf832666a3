"""The CI client: `consign publish`, run by a Bamboo plan to send one Compose fragment.

It lives apart from the deployer: CI agents publish, Docker hosts deploy, and neither
needs the other's code. ``command`` is the click command, ``client`` the HTTP exchange
with retries, ``buildinfo`` the provenance read from Bamboo's variables.
"""
