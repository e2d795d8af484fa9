package beamrun

import "hash/fnv"

// ShardOf assigns a record to one of the shards that total records make at perShard records
// each (at least one shard), spreading keys deterministically by their FNV-1a hash: the same
// key and counts give the same shard on every worker and every retry.
func ShardOf(key string, total, perShard int) int {
	n := max(1, (total+perShard-1)/perShard)
	if n == 1 {
		return 0
	}
	h := fnv.New64a()
	h.Write([]byte(key))
	return int(h.Sum64() % uint64(n))
}
