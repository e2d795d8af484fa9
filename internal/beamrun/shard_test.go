package beamrun

import "testing"

func TestShardOf(t *testing.T) {
	tests := []struct {
		total, perShard, shards int
	}{
		{0, 10, 1}, {10, 10, 1}, {11, 10, 2}, {1000, 7, 143},
	}
	for _, tc := range tests {
		seen := map[int]bool{}
		for i := range 2000 {
			key := string(rune('a'+i%26)) + string(rune(i))
			s := ShardOf(key, tc.total, tc.perShard)
			if s < 0 || s >= tc.shards {
				t.Fatalf("total %d per %d: key %q in shard %d of %d", tc.total, tc.perShard, key, s, tc.shards)
			}
			if s != ShardOf(key, tc.total, tc.perShard) {
				t.Fatalf("key %q: shard not deterministic", key)
			}
			seen[s] = true
		}
		if tc.shards > 1 && len(seen) < tc.shards/2 {
			t.Errorf("total %d per %d: 2000 keys reach only %d of %d shards", tc.total, tc.perShard, len(seen), tc.shards)
		}
	}
}
