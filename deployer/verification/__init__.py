"""Verification: a descriptor's services in the Compose profile ``verify`` (docs/deployer.md,
"Verification"), run once every other service is ok, each judged by its exit."""
