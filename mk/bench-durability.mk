# Durability bench: Rank+Reward throughput with the event log off, in interval and in ack mode.
#   make bench-durability      bench/results/durability.{txt,json}; BENCH_RUNS, BENCH_DURATION to change

.PHONY: bench-durability

bench-durability: release deps-python
	$(PYTHON) bench/durability/bench.py
