"""Consignment: the `consign` command line and what its parts share."""
