# The server's own Rank path in process (decode → score → explore → encode, one thread), with
# heap allocations per Rank counted by a malloc-counting preload; and where its instructions go.
#   make bench-rank
#   make profile-rank    instructions per Rank by part (callgrind; about a minute)

CC ?= cc
MALLOC_COUNT := bench/build/libmalloc-count.so

.PHONY: bench-rank profile-rank

$(MALLOC_COUNT): bench/malloc-count/malloc_count.c
	@mkdir -p $(dir $@)
	$(CC) -O2 -shared -fPIC -o $@ $< -ldl

bench-rank: release $(MALLOC_COUNT)
	taskset -c 0 .build/release/personalizer-bench-rank
	LD_PRELOAD=$(CURDIR)/$(MALLOC_COUNT) .build/release/personalizer-bench-rank --batches 5

profile-rank: release deps-deb
	bench/profile/rank-profile.sh .build/release/personalizer-bench-rank
