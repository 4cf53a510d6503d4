package helm

import (
	"container/list"
	"sync"
)

// Cache keeps downloaded chart archives in memory, least recently used first out, within a
// bound on their total size. It is safe for concurrent use.
type Cache struct {
	mu      sync.Mutex
	max     int64
	size    int64
	order   *list.List // most recently used at the front
	entries map[string]*list.Element
}

type cacheEntry struct {
	key  string
	data []byte
}

// NewCache returns a cache that holds at most maxBytes of archives. A cache of 0 bytes keeps
// nothing.
func NewCache(maxBytes int64) *Cache {
	return &Cache{max: maxBytes, order: list.New(), entries: map[string]*list.Element{}}
}

// Get returns the archive stored under key and marks it as used.
func (c *Cache) Get(key string) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok {
		return nil, false
	}
	c.order.MoveToFront(e)
	return e.Value.(*cacheEntry).data, true
}

// Add stores an archive under key, evicting the least recently used ones until the total
// fits. An archive larger than the whole cache is not stored.
func (c *Cache) Add(key string, data []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.entries[key]; ok {
		c.remove(e)
	}
	if int64(len(data)) > c.max {
		return
	}
	c.entries[key] = c.order.PushFront(&cacheEntry{key: key, data: data})
	c.size += int64(len(data))
	for c.size > c.max {
		c.remove(c.order.Back())
	}
}

func (c *Cache) remove(e *list.Element) {
	entry := c.order.Remove(e).(*cacheEntry)
	delete(c.entries, entry.key)
	c.size -= int64(len(entry.data))
}

// Len is the number of archives in the cache.
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}

// Size is the total size of the archives in the cache, in bytes.
func (c *Cache) Size() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.size
}
