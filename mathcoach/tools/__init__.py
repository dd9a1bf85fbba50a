"""Tools for model-written code: the sandbox that runs it (issue 17)."""
