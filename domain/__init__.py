"""The report domain every stage shares: the two national templates, the codes (statuses, problems,
evidence, severities) with their Chinese labels, time and region helpers and the typed configuration.

Imports nothing else of the project: it is the bottom of the one-way flow (docs/layout.md)."""
