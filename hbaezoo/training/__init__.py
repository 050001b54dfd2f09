"""The shared trainer and what surrounds it (checkpoints, logs, previews, data parallelism)."""
