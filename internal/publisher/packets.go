package publisher

import (
	"sync/atomic"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
)

// packetCounter is an interceptor that counts the RTP packets leaving the
// PeerConnection (pion's GetStats reports no outbound streams).
type packetCounter struct {
	interceptor.NoOp
	n *atomic.Int64
}

type packetCounterFactory struct{ n *atomic.Int64 }

func (f packetCounterFactory) NewInterceptor(string) (interceptor.Interceptor, error) {
	return &packetCounter{n: f.n}, nil
}

func (c *packetCounter) BindLocalStream(_ *interceptor.StreamInfo, w interceptor.RTPWriter) interceptor.RTPWriter {
	return interceptor.RTPWriterFunc(func(h *rtp.Header, payload []byte, a interceptor.Attributes) (int, error) {
		c.n.Add(1)
		return w.Write(h, payload, a)
	})
}

// ntpEpochOffset is the number of seconds from 1900 (NTP) to 1970 (Unix).
const ntpEpochOffset = 2208988800

// rttFromReport computes the round-trip time from a reception report
// (RFC 3550 6.4.1): arrival - LSR - DLSR, in 1/65536 s. ok is false when the
// report carries no sender-report echo.
func rttFromReport(r rtcp.ReceptionReport, arrival time.Time) (time.Duration, bool) {
	if r.LastSenderReport == 0 {
		return 0, false
	}
	secs := uint64(arrival.Unix()) + ntpEpochOffset
	frac := uint64(arrival.Nanosecond()) << 32 / uint64(time.Second)
	now := uint32((secs<<32 | frac) >> 16)
	d := now - r.LastSenderReport - r.Delay
	if int32(d) < 0 {
		return 0, false
	}
	return time.Duration(uint64(d) * uint64(time.Second) >> 16), true
}
