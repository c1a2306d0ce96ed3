# The server's own Rank path in process (decode → score → explore → encode, one thread), with
# heap allocations per Rank counted by a malloc-counting preload.
#   make bench-rank

CC ?= cc
MALLOC_COUNT := bench/build/libmalloc-count.so

.PHONY: bench-rank

$(MALLOC_COUNT): bench/malloc-count/malloc_count.c
	@mkdir -p $(dir $@)
	$(CC) -O2 -shared -fPIC -o $@ $< -ldl

bench-rank: release $(MALLOC_COUNT)
	taskset -c 0 .build/release/personalizer-bench-rank
	LD_PRELOAD=$(CURDIR)/$(MALLOC_COUNT) .build/release/personalizer-bench-rank --batches 5
