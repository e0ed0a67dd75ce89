"""Data-subject requests: intake, the lifecycle as a transition table, verification, agents and deadlines."""
