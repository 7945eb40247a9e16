"""Raw CSV to validated tables to clean tables to model arrays (pandas/numpy, no PyMC); imports only infra."""
