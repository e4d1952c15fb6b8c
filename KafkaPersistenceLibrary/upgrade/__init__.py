"""Rolling upgrades: nodes re-created on another Kafka version's image with their data, and feature levels."""
