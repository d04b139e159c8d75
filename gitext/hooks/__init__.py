"""Git hooks: installing the shims, and the light entry point they call."""
