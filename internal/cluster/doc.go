// Package cluster lets several `mosaic serve` nodes share one service through
// Redis: every node announces itself (public URL, capacity, load) under a key
// that expires unless its heartbeat renews it, and every room is owned by
// exactly one node through an atomic claim that its owner renews while the
// room lives and that lapses when the owner dies. An HTTP middleware sends
// room requests to the owner (307), places new rooms on the least-loaded node
// with capacity, refuses them (503 + Retry-After) when no node has any, and a
// drained node takes no new rooms and reports when its last room has ended.
package cluster
