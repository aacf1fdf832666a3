"""The deployer's side of the deployment ledger (README, "The deployment ledger").

- :mod:`.record`  the record of a finished deploy, rollback, teardown or drift check
- :mod:`.client`  HTTP to the registry (bounded timeouts, never raises on a verdict's path)
- :mod:`.spool`   records the registry could not take, delivered with the next report
- :mod:`.lock`    one deploy per environment: take, wait (bounded), renew, release
- :mod:`.drift`   what the engine runs vs. what the ledger says was deployed
- :mod:`.show`    an environment's state from the registry as text (for ``consign status``)
- :mod:`.command` ``consign drift``
"""
