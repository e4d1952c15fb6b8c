"""Faults beyond a container restart: which node suffers, network cuts."""
