"""Facts built on the network model (`tfcheck.network`), one concern per module."""
