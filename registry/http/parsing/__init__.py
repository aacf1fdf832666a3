"""Request parsing: every body and query parameter checked with one set of field validators
(fields.py; text limits in bytes of UTF-8), one module per family of bodies: publish.py
(PUT fragment), ledger.py (deployment reports, locks), gate.py (promotions, policy, freeze,
decisions, retirements)."""
