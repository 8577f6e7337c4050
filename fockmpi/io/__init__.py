"""Files: results and their reading back, in parallel HDF5 (results)."""
