"""Privacy law as data: jurisdictions, rights, and (later) deadlines and verification standards."""
