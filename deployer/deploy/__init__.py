"""A deploy, in the order it happens: :mod:`.sources` (fetch the descriptor),
:mod:`.labels` (each service's own labels), :mod:`.record` (the project's version, kept
where changing it recreates nothing), :mod:`.attempt` (check, up + watch, logs) and
:mod:`.rollback` (the requested deploy, then the rollback when it fails)."""
