"""Forecasting models: deep nets wrapped by one LightningModule, and the baselines they must beat."""
