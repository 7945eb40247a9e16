"""Rendering only, from a run's tables and posteriors: figures and the report."""
