package ingest

import (
	"log/slog"
	"sync"
	"time"

	"github.com/mosaic-rtc/mosaic/internal/media"
	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
)

// forwarder copies one published track's RTP packets and sender reports to
// the room's sink. Its run loop reads RTP; a second goroutine it owns reads
// RTCP. Sink calls are serialized, and Close comes after both loops ended.
type forwarder struct {
	track *webrtc.TrackRemote
	recv  *webrtc.RTPReceiver
	sink  media.TrackSink
	s     *session
	log   *slog.Logger

	mu        sync.Mutex // serializes sink calls
	sinkError bool       // a sink error was logged
}

const maxPacket = 1500

func (f *forwarder) run() {
	rtcpDone := make(chan struct{})
	go func() {
		defer close(rtcpDone)
		f.readRTCP()
	}()
	f.readRTP()
	<-rtcpDone
	if err := f.sink.Close(); err != nil {
		f.log.Warn("close track sink", "err", err)
	}
}

func (f *forwarder) readRTP() {
	buf := make([]byte, maxPacket)
	for {
		n, _, err := f.track.Read(buf)
		if err != nil {
			return // the PeerConnection closed
		}
		if !plausibleRTP(buf[:n]) {
			continue
		}
		pkt := make([]byte, n)
		copy(pkt, buf[:n])
		f.s.packets.Add(1)
		f.s.bytes.Add(uint64(n))
		f.mu.Lock()
		err = f.sink.WriteRTP(pkt)
		f.mu.Unlock()
		if err != nil && !f.sinkError {
			f.sinkError = true
			f.log.Warn("track sink refused packet", "err", err)
		}
	}
}

func (f *forwarder) readRTCP() {
	ssrc := uint32(f.track.SSRC())
	buf := make([]byte, maxPacket)
	for {
		n, _, err := f.recv.Read(buf)
		if err != nil {
			return
		}
		pkts, err := rtcp.Unmarshal(buf[:n])
		if err != nil {
			continue // garbage RTCP is dropped
		}
		for _, p := range pkts {
			sr, ok := p.(*rtcp.SenderReport)
			if !ok || sr.SSRC != ssrc {
				continue
			}
			f.mu.Lock()
			f.sink.WriteSenderReport(media.SenderReport{
				SSRC: sr.SSRC, NTPTime: sr.NTPTime, RTPTime: sr.RTPTime,
				PacketCount: sr.PacketCount, OctetCount: sr.OctetCount, Arrival: time.Now(),
			})
			f.mu.Unlock()
		}
	}
}

// plausibleRTP is a cheap sanity check: version 2 and a full fixed header.
func plausibleRTP(b []byte) bool {
	return len(b) >= 12 && b[0]>>6 == 2
}
