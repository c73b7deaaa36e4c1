"""respicast: forecasting peaks of COPD and asthma hospital admissions."""

__version__ = "0.1.0"
