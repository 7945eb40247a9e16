"""Measurement of the project, not part of the analysis; nothing else in model/ imports it."""
