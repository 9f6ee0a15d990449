package gateway

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/vigil-ops/vigil/roles"
)

// DefaultRoleTTL is how long a cached role is served before the store is asked again.
const DefaultRoleTTL = 2 * time.Second

// RoleCache holds the current version of each role for the synchronous path, so that an invoke
// does not read the store. A change made through this process (roles.Service's OnChange: PUT,
// DELETE, restore, roles_dir) invalidates the role at once; a change made through another
// replica is seen once the entry is older than TTL (a short TTL rather than a version check per
// call, which would be a store read per call again).
type RoleCache struct {
	// Load reads the latest version of a role (roles.Service.Get with version 0).
	Load func(ctx context.Context, code string) (roles.Versioned, error)
	// Catalog prepares a role for calls (roles.ForCall); nil leaves it as stored.
	Catalog roles.Catalog
	// TTL bounds the age of an entry (DefaultRoleTTL when zero).
	TTL time.Duration

	mu      sync.RWMutex
	entries map[string]roleEntry
	gen     map[string]uint64 // bumped by Invalidate, so a load racing a change is not cached
}

type roleEntry struct {
	v       roles.Versioned
	err     error
	fetched time.Time
}

// Get returns the current version of a role, prepared for a call (its Version set). A role that
// does not exist is cached too (as its error), for the same TTL; a store failure is not.
func (c *RoleCache) Get(ctx context.Context, code string) (roles.Versioned, error) {
	ttl := c.TTL
	if ttl <= 0 {
		ttl = DefaultRoleTTL
	}
	c.mu.RLock()
	e, ok := c.entries[code]
	gen := c.gen[code]
	c.mu.RUnlock()
	if ok && time.Since(e.fetched) < ttl {
		return e.v, e.err
	}
	v, err := c.Load(ctx, code)
	if err != nil && ctx.Err() != nil {
		return v, err // the caller gave up: nothing learnt about the role
	}
	if err == nil {
		v.Role = roles.ForCall(v.Role, c.Catalog)
		v.Role.Version = v.Meta.Version
	}
	c.mu.Lock()
	if c.entries == nil {
		c.entries, c.gen = map[string]roleEntry{}, map[string]uint64{}
	}
	if c.gen[code] == gen && (err == nil || errors.Is(err, roles.ErrNotFound)) {
		c.entries[code] = roleEntry{v: v, err: err, fetched: time.Now()}
	}
	c.mu.Unlock()
	return v, err
}

// Invalidate drops a role from the cache: the next Get reads the store.
func (c *RoleCache) Invalidate(code string) {
	c.mu.Lock()
	if c.entries == nil {
		c.entries, c.gen = map[string]roleEntry{}, map[string]uint64{}
	}
	delete(c.entries, code)
	c.gen[code]++
	c.mu.Unlock()
}
