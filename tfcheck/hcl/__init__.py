"""HCL parsing and evaluation: the only place that knows python-hcl2."""
