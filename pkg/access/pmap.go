package access

import (
	"hash/maphash"
	"iter"
)

// shardCount is the fan-out of a pmap. An update copies one shard and the shard array,
// so its cost is about len/shardCount entries instead of len.
const shardCount = 64

var seed = maphash.MakeSeed()

func shardOf(key string) int { return int(maphash.String(seed, key) % shardCount) }

// pmap is a persistent map from string to V: every update returns a new pmap and leaves the
// old one untouched, so a snapshot holding the old one may be read without locks. The zero
// value is an empty map.
type pmap[V any] struct {
	shards *[shardCount]map[string]V
	n      int
}

func (m pmap[V]) len() int { return m.n }

func (m pmap[V]) get(key string) (V, bool) {
	var zero V
	if m.shards == nil {
		return zero, false
	}
	v, ok := m.shards[shardOf(key)][key]
	return v, ok
}

func (m pmap[V]) has(key string) bool {
	_, ok := m.get(key)
	return ok
}

// set returns a map in which key maps to v.
func (m pmap[V]) set(key string, v V) pmap[V] {
	i := shardOf(key)
	var shards [shardCount]map[string]V
	if m.shards != nil {
		shards = *m.shards
	}
	old := shards[i]
	next := make(map[string]V, len(old)+1)
	for k, ov := range old {
		next[k] = ov
	}
	_, existed := old[key]
	next[key] = v
	shards[i] = next
	n := m.n
	if !existed {
		n++
	}
	return pmap[V]{shards: &shards, n: n}
}

// del returns a map without key.
func (m pmap[V]) del(key string) pmap[V] {
	if !m.has(key) {
		return m
	}
	i := shardOf(key)
	shards := *m.shards
	old := shards[i]
	if len(old) == 1 {
		shards[i] = nil
	} else {
		next := make(map[string]V, len(old)-1)
		for k, ov := range old {
			if k != key {
				next[k] = ov
			}
		}
		shards[i] = next
	}
	return pmap[V]{shards: &shards, n: m.n - 1}
}

// put makes key map to v in the map itself, without a copy. It is only for a map that no
// published snapshot shares: the index's maps while it loads.
func (m pmap[V]) put(key string, v V) pmap[V] {
	if m.shards == nil {
		m.shards = new([shardCount]map[string]V)
	}
	i := shardOf(key)
	shard := m.shards[i]
	if shard == nil {
		shard = map[string]V{}
		m.shards[i] = shard
	}
	if _, existed := shard[key]; !existed {
		m.n++
	}
	shard[key] = v
	return m
}

// remove deletes key from the map itself, without a copy; only for maps as put.
func (m pmap[V]) remove(key string) pmap[V] {
	if !m.has(key) {
		return m
	}
	i := shardOf(key)
	delete(m.shards[i], key)
	if len(m.shards[i]) == 0 {
		m.shards[i] = nil
	}
	m.n--
	return m
}

// setIn is set, or put when inPlace.
func setIn[V any](m pmap[V], inPlace bool, key string, v V) pmap[V] {
	if inPlace {
		return m.put(key, v)
	}
	return m.set(key, v)
}

// delIn is del, or remove when inPlace.
func delIn[V any](m pmap[V], inPlace bool, key string) pmap[V] {
	if inPlace {
		return m.remove(key)
	}
	return m.del(key)
}

// all yields every entry, in no particular order.
func (m pmap[V]) all() iter.Seq2[string, V] {
	return func(yield func(string, V) bool) {
		if m.shards == nil {
			return
		}
		for _, shard := range m.shards {
			for k, v := range shard {
				if !yield(k, v) {
					return
				}
			}
		}
	}
}

// pset is a persistent set of strings.
type pset = pmap[struct{}]
