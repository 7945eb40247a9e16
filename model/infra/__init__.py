"""No statistics, imports only infra: errors, atomic writes, paths, provenance, fan-out, formatting, progress."""
