"""Test support that is not a fixture of the data: throw-away servers and the like."""
