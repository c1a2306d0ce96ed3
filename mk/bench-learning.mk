# The learning benchmark and the learner micro-benchmark (bench/learning/, results in bench/results/).
# Included by the top-level Makefile, which provides PYTHON, release and deps-python.
#   make bench-learning           every stream x policy x 3 seeds, ours vs Vowpal Wabbit (~10-15 min),
#                                 then the learner micro-benchmark; writes bench/results/
#   make bench-learning QUICK=1   short streams, 2 seeds (~3 min); writes bench/build/learning-quick/
#   make bench-learner            the learner micro-benchmark alone

BENCH_QUICK_FLAG := $(if $(QUICK),--quick,)

.PHONY: bench-learning bench-learner bench-learning-deps

bench-learning-deps: deps-python
	rm -rf Clients/python/build
	$(PYTHON) -m pip install -q --no-build-isolation ./Clients/python

bench-learning: release bench-learning-deps
	$(PYTHON) bench/learning/bench.py $(BENCH_QUICK_FLAG) --server .build/release/personalizerd
	$(PYTHON) bench/learning/micro.py $(BENCH_QUICK_FLAG) --learner .build/release/personalizer-bench-learner

bench-learner: release bench-learning-deps
	$(PYTHON) bench/learning/micro.py $(BENCH_QUICK_FLAG) --learner .build/release/personalizer-bench-learner
