package cluster

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// acquireScript sets a room's owner to ARGV[1] when the room has no owner,
// is already ARGV[1]'s, or belongs to a node whose record has expired (a
// dead node's rooms are taken over at once instead of after the claim TTL).
// It returns the owner after the call.
var acquireScript = redis.NewScript(`
local cur = redis.call('GET', KEYS[1])
if (not cur) or cur == ARGV[1] or redis.call('EXISTS', ARGV[3] .. cur) == 0 then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return ARGV[1]
end
return cur`)

// renewScript extends a claim only while ARGV[1] still owns it.
var renewScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0`)

// releaseScript deletes a claim only while ARGV[1] still owns it.
var releaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0`)

func (c *Cluster) ownerKey(room string) string { return c.cfg.Prefix + "room:" + room + ":owner" }

// Owner returns the node that owns room ("" for none).
func (c *Cluster) Owner(ctx context.Context, room string) (string, error) {
	id, err := c.rdb.Get(ctx, c.ownerKey(room)).Result()
	if err == redis.Nil {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("owner of %s: %w", room, err)
	}
	return id, nil
}

// acquire claims room for node id (see acquireScript) and returns the owner.
func (c *Cluster) acquire(ctx context.Context, room, id string) (string, error) {
	ttl := c.cfg.ClaimTTL.Milliseconds()
	owner, err := acquireScript.Run(ctx, c.rdb, []string{c.ownerKey(room)}, id, ttl, c.cfg.Prefix+"node:").Text()
	if err != nil {
		return "", fmt.Errorf("claim %s: %w", room, err)
	}
	if owner == c.cfg.NodeID {
		c.noteClaim(room)
	}
	return owner, nil
}

func (c *Cluster) renew(ctx context.Context, room string) (bool, error) {
	n, err := renewScript.Run(ctx, c.rdb, []string{c.ownerKey(room)}, c.cfg.NodeID, c.cfg.ClaimTTL.Milliseconds()).Int()
	if err != nil {
		return false, fmt.Errorf("renew %s: %w", room, err)
	}
	return n == 1, nil
}

func (c *Cluster) release(ctx context.Context, room string) error {
	if err := releaseScript.Run(ctx, c.rdb, []string{c.ownerKey(room)}, c.cfg.NodeID).Err(); err != nil {
		return fmt.Errorf("release %s: %w", room, err)
	}
	return nil
}

// noteClaim remembers a room this node claimed so the heartbeat renews it
// while the room opens (and releases it if the room never does).
func (c *Cluster) noteClaim(room string) {
	c.mu.Lock()
	if _, ok := c.claims[room]; !ok {
		c.claims[room] = &claim{at: time.Now()}
	}
	c.mu.Unlock()
}
