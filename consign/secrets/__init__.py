"""Secrets: what looks like one, in a variable's name or in a literal value.

The ground floor's one place for the rules both sides need: the publisher leaves a
secret-named variable for the deploy host, the registry finds secret-looking literals at
publish, the deployer masks what it resolved (docs/secrets.md).
"""
