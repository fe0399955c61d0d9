package shardctl

import (
	"fmt"
	"slices"
	"time"
)

// ShardIDs returns 0 … count-1.
func ShardIDs(count int) []int {
	ids := make([]int, max(count, 0))
	for i := range ids {
		ids[i] = i
	}
	return ids
}

// ValidateShards checks that every id is in [0, count) and appears once.
func ValidateShards(ids []int, count int) error {
	if count < 1 {
		return fmt.Errorf("shardctl: shard count %d, want at least 1", count)
	}
	seen := make(map[int]bool, len(ids))
	for _, id := range ids {
		if id < 0 || id >= count {
			return fmt.Errorf("shardctl: shard %d out of range for %d shards", id, count)
		}
		if seen[id] {
			return fmt.Errorf("shardctl: shard %d listed twice", id)
		}
		seen[id] = true
	}
	return nil
}

// Waves groups shards by the order in which a gate lets them identify: wave k holds, for each
// rate-limit key, the k-th lowest shard with that key. Starting the waves in order starts the
// buckets in order, as Discord asks.
func Waves(ids []int, maxConcurrency int) [][]int {
	maxConcurrency = max(maxConcurrency, 1)
	sorted := slices.Clone(ids)
	slices.Sort(sorted)
	rank := make(map[int]int) // key -> shards seen with that key
	var waves [][]int
	for _, id := range sorted {
		k := id % maxConcurrency
		w := rank[k]
		rank[k]++
		for len(waves) <= w {
			waves = append(waves, nil)
		}
		waves[w] = append(waves[w], id)
	}
	return waves
}

// BucketOrder flattens Waves: the order in which to start shards.
func BucketOrder(ids []int, maxConcurrency int) []int {
	var out []int
	for _, w := range Waves(ids, maxConcurrency) {
		out = append(out, w...)
	}
	return out
}

// StartupTime is how long identifying n shards at max_concurrency m takes at most with the
// given spacing: ceil(n/m) intervals.
func StartupTime(n, m int, interval time.Duration) time.Duration {
	m = max(m, 1)
	waves := (n + m - 1) / m
	return time.Duration(waves) * interval
}
