# Benchmarks are not tests: `pytest tests` must neither collect nor import anything here.
collect_ignore_glob = ["*"]
