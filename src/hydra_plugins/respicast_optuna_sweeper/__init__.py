"""Hydra sweeper plugin driving Optuna (>= 4) studies: ``hydra/sweeper=respicast_optuna``."""
