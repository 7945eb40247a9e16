"""`make bench`: measurement of the project (sampler speed, cold and warm `make fit`, growth with data size), not part
of the analysis; nothing under model/ imports it."""
