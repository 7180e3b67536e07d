"""Where the embedding model runs while the service serves: child processes and the micro-batcher."""
