package node

import "time"

// ClusterConfig is the node's place among the nodes sharing one Redis.
type ClusterConfig struct {
	MaxRooms     int           // refuse new rooms at this many (0: no limit)
	MaxCPU       float64       // refuse new rooms above this fraction of the cores (default 0.85)
	MinFPSRatio  float64       // refuse new rooms while a room's composite runs below this × FPS (0: off)
	DrainTimeout time.Duration // how long a drain lets rooms go on (default 5m)
	Heartbeat    time.Duration // announcement and claim renewal period (default 1s)
}
