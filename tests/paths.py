"""Where the repository is, for tests that read its files (corpus, seeds, thresholds); the installed package
never knows this."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
