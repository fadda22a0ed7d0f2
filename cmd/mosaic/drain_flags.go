package main

import (
	"time"

	"github.com/spf13/pflag"

	"github.com/mosaic-rtc/mosaic/internal/node"
)

// clusterFlags are serve's flags for sharing rooms with other nodes.
func clusterFlags(f *pflag.FlagSet, c *node.ClusterConfig) {
	f.IntVar(&c.MaxRooms, "max-rooms", 0, "refuse new rooms (503, or a redirect to another node) at this many rooms (0: no limit)")
	f.Float64Var(&c.MaxCPU, "max-cpu", 0.85, "refuse new rooms while this process uses more than this fraction of the machine's cores")
	f.Float64Var(&c.MinFPSRatio, "min-fps-ratio", 0, "refuse new rooms while a room's composite runs below this fraction of --fps, e.g. 0.9 (0: off)")
	f.DurationVar(&c.DrainTimeout, "drain-timeout", 5*time.Minute, "after POST /api/node/drain (mosaic drain), how long rooms may go on before the node finalizes its recordings and exits")
	f.DurationVar(&c.Heartbeat, "cluster-heartbeat", time.Second, "how often the node announces its load and renews its room claims in Redis")
}
