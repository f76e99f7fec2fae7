"""Agents for XLogo-Mini: the search solver, baselines and the transformer policy."""
