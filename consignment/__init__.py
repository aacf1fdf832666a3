"""The top of the house: the ``consign`` command, assembled from the commands each side
exports (``registry.commands``, ``publisher.commands``, ``deployer.commands``).

Nothing below imports this package; see docs/ARCHITECTURE.md and tests/test_layers.py.
"""
