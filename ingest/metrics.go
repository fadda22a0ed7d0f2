package ingest

import (
	"github.com/prometheus/client_golang/prometheus"
)

// metricKey labels the session metrics: per room and kind, never per
// session, so their number is bounded by the rooms.
type metricKey struct{ room, kind string }

// counters are the monotonic session counters of one room and kind.
type counters struct {
	bytes, packetsLost, nacks, plis float64
}

func (c *counters) add(st SessionStats) {
	for _, s := range st.Streams {
		c.bytes += float64(s.Bytes)
		if s.PacketsLost > 0 && st.Kind == KindPublisher {
			c.packetsLost += float64(s.PacketsLost)
		}
		c.nacks += float64(s.NACKsSent + s.NACKsReceived)
		c.plis += float64(s.PLIsSent + s.PLIsReceived)
	}
}

// retire adds an ended session's counters to its room's; s.mu is held.
func (s *Server) retire(st SessionStats) {
	k := metricKey{st.Room, st.Kind}
	c := s.retired[k]
	if c == nil {
		c = &counters{}
		s.retired[k] = c
	}
	c.add(st)
}

var (
	labels           = []string{"room", "kind"}
	descSessions     = prometheus.NewDesc("mosaic_session_count", "Live WHIP (kind=publisher) and WHEP (kind=viewer) sessions.", labels, nil)
	descBitrate      = prometheus.NewDesc("mosaic_session_bitrate_bps", "RTP bitrate received from publishers or sent to viewers, over the last second.", labels, nil)
	descBytes        = prometheus.NewDesc("mosaic_session_rtp_bytes_total", "RTP bytes (headers included) received from publishers or sent to viewers.", labels, nil)
	descPacketsLost  = prometheus.NewDesc("mosaic_session_packets_lost_total", "RTP packets from publishers that never arrived.", labels, nil)
	descNACKs        = prometheus.NewDesc("mosaic_session_nacks_total", "NACKs sent to publishers (kind=publisher) or received from viewers (kind=viewer).", labels, nil)
	descPLIs         = prometheus.NewDesc("mosaic_session_plis_total", "PLIs sent to publishers (kind=publisher) or received from viewers (kind=viewer).", labels, nil)
	descJitter       = prometheus.NewDesc("mosaic_session_jitter_max_seconds", "Largest interarrival jitter of the streams.", labels, nil)
	descRTT          = prometheus.NewDesc("mosaic_session_rtt_max_seconds", "Largest round-trip time of the sessions.", labels, nil)
	sessionMetricSet = []*prometheus.Desc{descSessions, descBitrate, descBytes, descPacketsLost, descNACKs, descPLIs, descJitter, descRTT}
)

// Collector exports the mosaic_session_* metrics, labelled by room and kind.
func (s *Server) Collector() prometheus.Collector { return sessionCollector{s} }

type sessionCollector struct{ s *Server }

func (c sessionCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range sessionMetricSet {
		ch <- d
	}
}

type gauges struct{ sessions, bitrate, jitter, rtt float64 }

func (c sessionCollector) Collect(ch chan<- prometheus.Metric) {
	live := c.s.Sessions()
	c.s.mu.Lock()
	sums := make(map[metricKey]*counters, len(c.s.retired))
	for k, v := range c.s.retired {
		cp := *v
		sums[k] = &cp
	}
	c.s.mu.Unlock()
	gs := map[metricKey]*gauges{}
	for _, st := range live {
		k := metricKey{st.Room, st.Kind}
		if sums[k] == nil {
			sums[k] = &counters{}
		}
		sums[k].add(st)
		g := gs[k]
		if g == nil {
			g = &gauges{}
			gs[k] = g
		}
		g.sessions++
		g.bitrate += st.BitrateBps
		g.rtt = max(g.rtt, st.RTTSeconds)
		for _, str := range st.Streams {
			g.jitter = max(g.jitter, str.JitterSeconds)
			g.rtt = max(g.rtt, str.RTTSeconds)
		}
	}
	for k, v := range sums {
		g := gs[k]
		if g == nil {
			g = &gauges{}
		}
		for _, m := range []struct {
			d *prometheus.Desc
			t prometheus.ValueType
			v float64
		}{
			{descSessions, prometheus.GaugeValue, g.sessions},
			{descBitrate, prometheus.GaugeValue, g.bitrate},
			{descJitter, prometheus.GaugeValue, g.jitter},
			{descRTT, prometheus.GaugeValue, g.rtt},
			{descBytes, prometheus.CounterValue, v.bytes},
			{descPacketsLost, prometheus.CounterValue, v.packetsLost},
			{descNACKs, prometheus.CounterValue, v.nacks},
			{descPLIs, prometheus.CounterValue, v.plis},
		} {
			ch <- prometheus.MustNewConstMetric(m.d, m.t, m.v, k.room, k.kind)
		}
	}
}
