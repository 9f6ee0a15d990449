package gateway

import (
	"sync"
	"time"
)

// reuseCache holds, per reuse key, the call that answers it for the role's rate-limit interval:
// callers arriving while it runs wait for it; callers after it get its answer until the
// interval ends. A failed call is forgotten at once, so the next caller tries again.
type reuseCache struct {
	mu      sync.Mutex
	flights map[string]*flight
	inserts int
}

type flight struct {
	done    chan struct{}
	res     Result
	err     error
	expires time.Time
}

// maxFlightsBeforeSweep is how many entries the cache holds before inserts sweep expired ones.
const maxFlightsBeforeSweep = 4096

// join returns the flight of key, or starts one (first = true) that the caller must finish.
func (c *reuseCache) join(key string, interval time.Duration) (f *flight, first bool) {
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if f, ok := c.flights[key]; ok && now.Before(f.expires) {
		return f, false
	}
	if c.flights == nil {
		c.flights = map[string]*flight{}
	}
	c.inserts++
	if len(c.flights) >= maxFlightsBeforeSweep && c.inserts%64 == 0 {
		for k, f := range c.flights {
			if !now.Before(f.expires) {
				delete(c.flights, k)
			}
		}
	}
	f = &flight{done: make(chan struct{}), expires: now.Add(interval)}
	c.flights[key] = f
	return f, true
}

func (c *reuseCache) finish(key string, f *flight, res Result, err error) {
	f.res, f.err = res, err
	c.mu.Lock()
	if err != nil && c.flights[key] == f {
		delete(c.flights, key)
	}
	c.mu.Unlock()
	close(f.done)
}
