"""Consumer groups of our own (member processes, their event logs) and groups we only watch."""
