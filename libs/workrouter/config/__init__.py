"""Loading operator configuration files (YAML) into validated domain objects."""
