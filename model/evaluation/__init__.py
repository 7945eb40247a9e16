"""Products of fitted models (skill, validation, SBC, claims, literature, confounding, what-if); never names a model."""
