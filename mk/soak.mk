# Soak: well-behaved load next to fuzzed frames, stalled clients, connection floods and readers
# that never read; fails if the well-behaved clients see an error or their p99 passes 2x the
# clean run's.
#   make soak        SOAK_DURATION (s per run, default 60), SOAK_RATE (calls/s, default 2000)

.PHONY: soak

soak: release deps-python
	$(PYTHON) bench/soak/soak.py
