"""The network facts, one concern per module; `tfcheck.network` re-exports what policies use."""
