"""The experiment pipeline: one TOML file, its stages run in order, finished ones skipped (issue 19)."""
