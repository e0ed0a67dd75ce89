"""A workspace on disk: the manifest folder, settings and database location. Reads files for the core."""
