"""The throughput benchmark behind ``sdaug bench``; not part of the runtime engine, it drives it.

- :mod:`.report`: configuration, workloads, compute floor, tables and JSON (pure Python);
- :mod:`.runner`: :func:`~sdaug.bench.runner.run_bench`, the measuring;
- :mod:`.models`: SD1.5-size random-weight models and their FLOP counts.

torch is imported inside the functions that need it (only ``sdaug/engine/`` imports torch at
module level), so ``sdaug bench`` checks its options before loading torch.
"""
