"""Load, clean, chunk, embed, store and retrieve.

OpenMP threads (torch and faiss) busy-wait after each parallel region by default; on a small machine shared
with other processes that starved the model: /v1/ask p50 at concurrency 1 was ~500 ms against a 20 ms bare
encode (bench/serving.py). Passive waiting, set before either library loads libgomp, fixed it (24 ms).
"""

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
