"""Exception intelligence: models the hub trains on its own history, each with a rule
fallback, so a missing or corrupt model never stops the hub. Import the modules directly,
e.g. ``from pipelines.intelligence.risk import assess``."""
