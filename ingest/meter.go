package ingest

import (
	"sync"
	"time"

	"github.com/pion/interceptor/pkg/stats"
)

// meterInterval is how often a session's stream bitrates are measured.
const meterInterval = time.Second

// meter keeps a session's RTP streams and measures their bitrates from
// pion's byte counters once per meterInterval.
type meter struct {
	mu      sync.Mutex
	streams []*meteredStream
}

type meteredStream struct {
	ssrc    uint32
	kind    string
	mime    string
	trackID string

	lastBytes uint64
	lastAt    time.Time
	bps       float64
}

func (m *meter) add(ssrc uint32, kind, mime, trackID string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.streams = append(m.streams, &meteredStream{ssrc: ssrc, kind: kind, mime: mime, trackID: trackID})
}

// wireBytes is what a stream carried on the wire, headers included.
func wireBytes(st *stats.Stats, inbound bool) uint64 {
	if inbound {
		return st.InboundRTPStreamStats.BytesReceived + st.InboundRTPStreamStats.HeaderBytesReceived
	}
	return st.OutboundRTPStreamStats.BytesSent + st.OutboundRTPStreamStats.HeaderBytesSent
}

// sample updates every stream's bitrate.
func (m *meter) sample(g stats.Getter, inbound bool, now time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, ms := range m.streams {
		st := g.Get(ms.ssrc)
		if st == nil {
			continue
		}
		b := wireBytes(st, inbound)
		if !ms.lastAt.IsZero() && now.After(ms.lastAt) && b >= ms.lastBytes {
			ms.bps = float64(b-ms.lastBytes) * 8 / now.Sub(ms.lastAt).Seconds()
		}
		ms.lastBytes, ms.lastAt = b, now
	}
}

// run samples until done is closed.
func (m *meter) run(g stats.Getter, inbound bool, done <-chan struct{}) {
	t := time.NewTicker(meterInterval)
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case now := <-t.C:
			m.sample(g, inbound, now)
		}
	}
}

// snapshot reads the streams' counters.
func (m *meter) snapshot(g stats.Getter, inbound bool) []StreamStats {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]StreamStats, 0, len(m.streams))
	for _, ms := range m.streams {
		ss := StreamStats{SSRC: ms.ssrc, Kind: ms.kind, MimeType: ms.mime, TrackID: ms.trackID, BitrateBps: ms.bps}
		if st := g.Get(ms.ssrc); st != nil {
			ss.Bytes = wireBytes(st, inbound)
			if inbound {
				in := st.InboundRTPStreamStats
				ss.Packets = in.PacketsReceived
				ss.PacketsLost = in.PacketsLost
				ss.JitterSeconds = in.Jitter
				ss.NACKsSent, ss.PLIsSent, ss.FIRsSent = in.NACKCount, in.PLICount, in.FIRCount
				ss.RTTSeconds = st.RemoteOutboundRTPStreamStats.RoundTripTime.Seconds()
			} else {
				out := st.OutboundRTPStreamStats
				ss.Packets = out.PacketsSent
				ss.NACKsReceived, ss.PLIsReceived, ss.FIRsReceived = out.NACKCount, out.PLICount, out.FIRCount
				ss.RTTSeconds = st.RemoteInboundRTPStreamStats.RoundTripTime.Seconds()
				ss.PacketsLost = st.RemoteInboundRTPStreamStats.PacketsLost
				ss.JitterSeconds = st.RemoteInboundRTPStreamStats.Jitter
			}
		}
		out = append(out, ss)
	}
	return out
}
