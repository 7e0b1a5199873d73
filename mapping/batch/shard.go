// Package batch predicts many map sheets: one shard of a sheet list,
// skipping sheets whose products an earlier run completed, going on past
// sheets that fail, and keeping a summary JSON in the output folder.
package batch

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Shard is part Index (0-based) of Count parts of a sheet list; sheet i
// belongs to shard i mod Count, so the shards of one list are disjoint and
// together cover it. The zero Shard is the whole list.
type Shard struct{ Index, Count int }

// ParseShard reads "i/N".
func ParseShard(s string) (Shard, error) {
	i, n, ok := strings.Cut(s, "/")
	if !ok {
		return Shard{}, fmt.Errorf("shard %q: want INDEX/COUNT, e.g. 0/3", s)
	}
	return newShard(strings.TrimSpace(i), strings.TrimSpace(n), "shard "+s)
}

// Environment variables of a Kubernetes Indexed Job: the completion index
// Kubernetes sets in each pod, and the completion count, which the
// manifest passes on itself (Kubernetes does not).
const (
	IndexEnv = "JOB_COMPLETION_INDEX"
	CountEnv = "JOB_COMPLETION_COUNT"
)

// ShardFromEnv reads the shard of a Kubernetes Indexed Job pod: the index
// from JOB_COMPLETION_INDEX, the count from count when it is > 0, else
// from JOB_COMPLETION_COUNT. ok is false outside such a pod.
func ShardFromEnv(count int) (s Shard, ok bool, err error) {
	idx, set := os.LookupEnv(IndexEnv)
	if !set {
		return Shard{}, false, nil
	}
	n := os.Getenv(CountEnv)
	if count > 0 {
		n = strconv.Itoa(count)
	}
	if n == "" {
		return Shard{}, true, fmt.Errorf("%s=%s is set but not the shard count: give --shards N or set %s", IndexEnv, idx, CountEnv)
	}
	s, err = newShard(idx, n, fmt.Sprintf("%s=%s, count %s", IndexEnv, idx, n))
	return s, true, err
}

func newShard(index, count, what string) (Shard, error) {
	i, err1 := strconv.Atoi(index)
	n, err2 := strconv.Atoi(count)
	if err1 != nil || err2 != nil || n < 1 || i < 0 || i >= n {
		return Shard{}, fmt.Errorf("%s: want 0 ≤ index < count", what)
	}
	return Shard{Index: i, Count: n}, nil
}

// Pick returns the sheets of this shard, in list order.
func (s Shard) Pick(sheets []string) []string {
	if s.Count <= 1 {
		return sheets
	}
	var out []string
	for i, sh := range sheets {
		if i%s.Count == s.Index {
			out = append(out, sh)
		}
	}
	return out
}

func (s Shard) String() string {
	if s.Count == 0 {
		return ""
	}
	return fmt.Sprintf("%d/%d", s.Index, s.Count)
}
