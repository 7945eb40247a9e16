"""NUTS back end, compile cache, convergence gates, importance sampling; imports infra, dataset, priors, no model."""
