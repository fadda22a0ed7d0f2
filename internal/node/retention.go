package node

import (
	"context"
	"time"
)

// defaultRetentionInterval is how often a node queues the retention sweep.
const defaultRetentionInterval = time.Hour

// startRetention queues, every RetentionInterval, the sweep that deletes
// finished recordings older than Retention. The task id is unique per
// period, so with many nodes one sweep runs per period.
func (n *Node) startRetention(ctx context.Context) {
	if n.cfg.Retention <= 0 {
		return
	}
	every := n.cfg.RetentionInterval
	if every <= 0 {
		every = defaultRetentionInterval
	}
	log := n.log.With("part", "retention", "retention", n.cfg.Retention, "every", every)
	n.goBackground(ctx, func(ctx context.Context) error {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			if err := n.enqueuer.EnqueueRetention(ctx, n.cfg.Retention, every, time.Now()); err != nil {
				log.Error("retention sweep not queued", "err", err)
			}
			select {
			case <-ctx.Done():
				return nil
			case <-t.C:
			}
		}
	})
}
