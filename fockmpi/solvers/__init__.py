"""Eigensolvers: SLEPc for ground and excited states, a dense fallback for tiny sectors (eigen)."""
