"""Glue for the Hydra apps: instantiating named loggers/callbacks, run files, printing."""
