package cluster

import "errors"

var (
	// ErrBadConfig is a configuration the cluster cannot run with.
	ErrBadConfig = errors.New("cluster: bad configuration")
	// ErrNoCapacity means no live node (this one included) takes new rooms.
	ErrNoCapacity = errors.New("cluster: no node has capacity for a new room")
	// ErrUnknownNode is a room owner that is not in the registry.
	ErrUnknownNode = errors.New("cluster: unknown node")
)
