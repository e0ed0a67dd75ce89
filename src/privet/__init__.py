"""privet: the privacy notice as data, enforced."""
