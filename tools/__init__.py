"""Command-line tools of the project (offline render); importing does no work."""
