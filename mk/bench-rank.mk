# The server's own Rank path in process (decode → score → explore → encode, one thread), with
# heap allocations per Rank counted by a malloc-counting preload; and the trainer's CPU time per
# Rank+Reward pair (logged, joined, learned), in process.
#   make bench-rank
#   make bench-trainer
#   make test-allocations   fails if a Rank allocates on the heap (part of `make test`)

CC ?= cc
MALLOC_COUNT := bench/build/libmalloc-count.so

.PHONY: bench-rank bench-trainer test-allocations

$(MALLOC_COUNT): bench/malloc-count/malloc_count.c
	@mkdir -p $(dir $@)
	$(CC) -O2 -shared -fPIC -o $@ $< -ldl

bench-rank: release $(MALLOC_COUNT)
	taskset -c 0 .build/release/personalizer-bench-rank
	LD_PRELOAD=$(CURDIR)/$(MALLOC_COUNT) .build/release/personalizer-bench-rank --batches 5

bench-trainer: release
	.build/release/personalizer-bench-rank --pairs

# Part of `make test`: a Rank allocates nothing on the heap in steady state.
test-allocations: release $(MALLOC_COUNT)
	bench/malloc-count/check-rank.sh $(CURDIR)/$(MALLOC_COUNT) .build/release/personalizer-bench-rank
