"""The Consignment registry: Compose fragments in, immutable numbered descriptors out."""
