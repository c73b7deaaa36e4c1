"""From the daily table to samples: targets, splits, windows and the LightningDataModule."""
