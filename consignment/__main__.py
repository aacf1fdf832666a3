"""`python -m consignment` is the `consign` command."""

from consignment.cli import main

main()
