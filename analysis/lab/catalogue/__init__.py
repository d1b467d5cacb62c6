"""Scenario families, one module each; `analysis.lab.scenarios` assembles them."""
