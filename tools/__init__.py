"""Developer tooling: the local stack launcher and install helpers (not part of any service)."""
