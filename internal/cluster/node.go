package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"github.com/redis/go-redis/v9"
)

// NodeInfo is what a node announces about itself.
type NodeInfo struct {
	ID           string    `json:"id"`
	URL          string    `json:"url"`
	MaxRooms     int       `json:"max_rooms,omitempty"` // 0: no limit
	MaxCPU       float64   `json:"max_cpu"`             // fraction of the node's cores
	Cores        int       `json:"cores"`
	Rooms        int       `json:"rooms"`
	Participants int       `json:"participants"`
	Viewers      int       `json:"viewers"`
	CPU          float64   `json:"cpu"`                     // fraction of the node's cores in use
	Lagging      int       `json:"lagging_rooms,omitempty"` // rooms whose composite runs slow
	Draining     bool      `json:"draining,omitempty"`
	Seen         time.Time `json:"seen"`
}

// Accepts reports whether the node takes new rooms.
func (i NodeInfo) Accepts() bool {
	if i.Draining {
		return false
	}
	if i.Lagging > 0 || i.MaxRooms > 0 && i.Rooms >= i.MaxRooms {
		return false
	}
	return i.MaxCPU <= 0 || i.MaxCPU >= 1 || i.CPU < i.MaxCPU
}

// less orders nodes for a new room: fewer rooms, then less CPU, then id.
func less(a, b NodeInfo) bool {
	if a.Rooms != b.Rooms {
		return a.Rooms < b.Rooms
	}
	if d := a.CPU - b.CPU; d < -0.05 || d > 0.05 {
		return a.CPU < b.CPU
	}
	return a.ID < b.ID
}

func (c *Cluster) nodeKey(id string) string { return c.cfg.Prefix + "node:" + id }
func (c *Cluster) nodesKey() string         { return c.cfg.Prefix + "nodes" }

// announce writes this node's record with the heartbeat TTL.
func (c *Cluster) announce(ctx context.Context, info NodeInfo) error {
	b, err := json.Marshal(info)
	if err != nil {
		return err
	}
	pipe := c.rdb.TxPipeline()
	pipe.Set(ctx, c.nodeKey(info.ID), b, c.cfg.NodeTTL)
	pipe.SAdd(ctx, c.nodesKey(), info.ID)
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("announce node: %w", err)
	}
	return nil
}

// withdraw removes this node's record (clean shutdown).
func (c *Cluster) withdraw(ctx context.Context) error {
	pipe := c.rdb.TxPipeline()
	pipe.Del(ctx, c.nodeKey(c.cfg.NodeID))
	pipe.SRem(ctx, c.nodesKey(), c.cfg.NodeID)
	_, err := pipe.Exec(ctx)
	return err
}

// Nodes returns the live nodes, best candidate for a new room first.
func (c *Cluster) Nodes(ctx context.Context) ([]NodeInfo, error) {
	ids, err := c.rdb.SMembers(ctx, c.nodesKey()).Result()
	if err != nil {
		return nil, fmt.Errorf("list nodes: %w", err)
	}
	if len(ids) == 0 {
		return nil, nil
	}
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = c.nodeKey(id)
	}
	vals, err := c.rdb.MGet(ctx, keys...).Result()
	if err != nil {
		return nil, fmt.Errorf("list nodes: %w", err)
	}
	out := make([]NodeInfo, 0, len(ids))
	for i, v := range vals {
		s, ok := v.(string)
		if !ok {
			// Expired: the node died or left. Forget it unless it came back meanwhile.
			c.rdb.SRem(ctx, c.nodesKey(), ids[i])
			continue
		}
		var info NodeInfo
		if json.Unmarshal([]byte(s), &info) != nil || info.ID == "" {
			continue
		}
		out = append(out, info)
	}
	sort.Slice(out, func(i, j int) bool { return less(out[i], out[j]) })
	return out, nil
}

// Node returns one live node's record.
func (c *Cluster) Node(ctx context.Context, id string) (NodeInfo, error) {
	s, err := c.rdb.Get(ctx, c.nodeKey(id)).Result()
	if err == redis.Nil {
		return NodeInfo{}, fmt.Errorf("%w: %s", ErrUnknownNode, id)
	}
	if err != nil {
		return NodeInfo{}, fmt.Errorf("node %s: %w", id, err)
	}
	var info NodeInfo
	if err := json.Unmarshal([]byte(s), &info); err != nil {
		return NodeInfo{}, fmt.Errorf("node %s: %w", id, err)
	}
	return info, nil
}
