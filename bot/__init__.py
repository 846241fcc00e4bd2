"""kratom-qa."""
