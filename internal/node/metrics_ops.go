package node

import (
	"context"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/mosaic-rtc/mosaic/jobs"
	"github.com/mosaic-rtc/mosaic/mixer"
)

// opsCollector exports what operators watch beyond the gauges: job queue
// depths, the mixers' frame and drop counters, and recording segments that
// are not in the object store yet.
type opsCollector struct {
	n         *Node
	inspector *asynq.Inspector
	queues    []string

	queueTasks, mixerFrames, mixerDropped, mixerOverruns, mixerInputs, segmentsPending *prometheus.Desc
}

func newOpsCollector(n *Node, redisOpt asynq.RedisConnOpt, queues []string) *opsCollector {
	return &opsCollector{
		n: n, inspector: asynq.NewInspector(redisOpt), queues: queues,
		queueTasks: prometheus.NewDesc("mosaic_queue_tasks", "Tasks in a job queue by state.", []string{"queue", "state"}, nil),
		mixerFrames: prometheus.NewDesc("mosaic_mixer_video_frames_total",
			"Composite video frames encoded by this node's mixers (rooms open now).", nil, nil),
		mixerDropped: prometheus.NewDesc("mosaic_mixer_packets_dropped_total",
			"RTP packets the mixers refused (malformed, input full or gone).", nil, nil),
		mixerOverruns: prometheus.NewDesc("mosaic_mixer_overruns_total",
			"Times a mixer's leaky queue was full and dropped data (frame drops).", nil, nil),
		mixerInputs: prometheus.NewDesc("mosaic_mixer_inputs", "Tracks being mixed.", nil, nil),
		segmentsPending: prometheus.NewDesc("mosaic_recording_segments_pending",
			"Segments of this node's running recordings not yet confirmed by the object store.", nil, nil),
	}
}

func (c *opsCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.queueTasks, c.mixerFrames, c.mixerDropped, c.mixerOverruns, c.mixerInputs, c.segmentsPending} {
		ch <- d
	}
}

func (c *opsCollector) Collect(ch chan<- prometheus.Metric) {
	for _, q := range c.queues {
		info, err := c.inspector.GetQueueInfo(q)
		if err != nil {
			continue // queue not created yet, or Redis away
		}
		for state, v := range map[string]int{"pending": info.Pending, "active": info.Active, "scheduled": info.Scheduled,
			"retry": info.Retry, "archived": info.Archived} {
			ch <- prometheus.MustNewConstMetric(c.queueTasks, prometheus.GaugeValue, float64(v), q, state)
		}
	}
	var frames, dropped, overruns, inputs uint64
	for _, info := range c.n.rooms.List() {
		r, ok := c.n.rooms.Get(info.Name)
		if !ok {
			continue
		}
		if m, ok := r.Mixer().(interface{ Stats() mixer.Stats }); ok {
			st := m.Stats()
			frames += st.VideoFrames
			dropped += st.PacketsDropped
			overruns += st.Overruns
			inputs += uint64(st.Inputs)
		}
	}
	ch <- prometheus.MustNewConstMetric(c.mixerFrames, prometheus.CounterValue, float64(frames))
	ch <- prometheus.MustNewConstMetric(c.mixerDropped, prometheus.CounterValue, float64(dropped))
	ch <- prometheus.MustNewConstMetric(c.mixerOverruns, prometheus.CounterValue, float64(overruns))
	ch <- prometheus.MustNewConstMetric(c.mixerInputs, prometheus.GaugeValue, float64(inputs))

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	pending := 0
	for _, id := range c.n.recordings.Active() {
		rec, err := c.n.catalog.Get(ctx, id)
		if err != nil {
			continue
		}
		for _, s := range rec.Segments {
			if !s.Uploaded {
				pending++
			}
		}
	}
	ch <- prometheus.MustNewConstMetric(c.segmentsPending, prometheus.GaugeValue, float64(pending))
}

// jobMetrics are the job handlers' own metrics.
func jobMetrics() []prometheus.Collector {
	return []prometheus.Collector{jobs.UploadSeconds, jobs.UploadBytes}
}
