"""Job files (TOML): the only place that reads them.  ``table`` checks keys and types; lattice,
model, sector and solver turn their sections into typed objects of the stages."""
