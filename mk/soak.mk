# Soak: well-behaved load next to fuzzed frames, stalled clients, connection floods and readers
# that never read; fails if the well-behaved clients see an error or the median of their p99s
# passes 2x the median of the clean windows' p99s.
#   make soak        SOAK_ROUNDS (default 6), SOAK_DURATION (s per window, default 10),
#                    SOAK_RATE (calls/s, default 2000), SOAK_KINDS (fuzz,stall,flood,never-read)

.PHONY: soak

soak: release deps-python
	$(PYTHON) bench/soak/soak.py
