"""Background work and the adapters it drives: sending mail, fulfilment runs, sweeps and reminders."""
