# Soak: well-behaved load next to fuzzed frames, stalled clients, connection floods and readers
# that never read; fails if the well-behaved clients see an error or their p99 passes 2x the
# clean run's.
#   make soak        SOAK_ROUNDS (default 3), SOAK_DURATION (s per run, default 30),
#                    SOAK_RATE (calls/s, default 2000), SOAK_KINDS (fuzz,stall,flood,never-read)

.PHONY: soak

soak: release deps-python
	$(PYTHON) bench/soak/soak.py
