package ingest

import (
	"time"

	"github.com/mosaic-rtc/mosaic/internal/media"
	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
	pmedia "github.com/pion/webrtc/v4/pkg/media"
)

// viewerBuffer is how many composite samples a viewer may lag behind.
const viewerBuffer = 512

// Default sample durations when the composite leaves them out.
const (
	defaultVideoDuration = time.Second / 30
	defaultAudioDuration = 20 * time.Millisecond
)

// viewer feeds one WHEP session from the room's live composite.
type viewer struct {
	s            *session
	live         Live
	video, audio *webrtc.TrackLocalStaticSample
	senders      []*webrtc.RTPSender
	kf           limiter
}

func (v *viewer) addTrack(t *webrtc.TrackLocalStaticSample) error {
	snd, err := v.s.pc.AddTrack(t)
	if err != nil {
		return err
	}
	v.senders = append(v.senders, snd)
	if enc := snd.GetParameters().Encodings; len(enc) > 0 {
		v.s.meter.add(uint32(enc[0].SSRC), t.Kind().String(), t.Codec().MimeType, t.ID())
	}
	return nil
}

// requestKeyframe asks the composite for a keyframe, at most once per
// keyframeInterval.
func (v *viewer) requestKeyframe() {
	if v.kf.allow() {
		v.live.RequestKeyframe()
	}
}

// run waits for the connection, then copies samples until the session or
// the composite ends. Video starts at a keyframe, and again after samples
// were dropped for a slow connection.
func (v *viewer) run() {
	select {
	case <-v.s.connected:
	case <-v.s.ctx.Done():
		return
	}
	rd := v.live.Output().Subscribe("whep-"+v.s.id, viewerBuffer)
	defer rd.Close()
	v.requestKeyframe()
	needKey := true
	dropped := rd.Dropped()
	for {
		var smp media.Sample
		var ok bool
		select {
		case <-v.s.ctx.Done():
			return
		case smp, ok = <-rd.C:
		}
		if !ok {
			v.s.log.Info("live composite ended")
			v.s.cancel()
			return
		}
		if d := rd.Dropped(); d != dropped {
			dropped = d
			needKey = true
			v.requestKeyframe()
		}
		switch {
		case smp.Kind == media.Video && smp.Codec == media.H264 && v.video != nil:
			if needKey && !smp.Keyframe {
				continue
			}
			needKey = false
			v.write(v.video, smp, defaultVideoDuration)
		case smp.Kind == media.Audio && smp.Codec == media.Opus && v.audio != nil:
			v.write(v.audio, smp, defaultAudioDuration)
		}
	}
}

func (v *viewer) write(t *webrtc.TrackLocalStaticSample, smp media.Sample, def time.Duration) {
	d := smp.Duration
	if d <= 0 {
		d = def
	}
	if err := t.WriteSample(pmedia.Sample{Data: smp.Data, Duration: d}); err != nil {
		v.s.log.Debug("write sample", "kind", smp.Kind, "err", err)
		return
	}
	v.s.packets.Add(1)
	v.s.bytes.Add(uint64(len(smp.Data)))
}

// readRTCP turns a viewer's PLI or FIR into a keyframe request upstream.
func (v *viewer) readRTCP(snd *webrtc.RTPSender) {
	buf := make([]byte, maxPacket)
	for {
		n, _, err := snd.Read(buf)
		if err != nil {
			return
		}
		pkts, err := rtcp.Unmarshal(buf[:n])
		if err != nil {
			continue
		}
		for _, p := range pkts {
			switch p.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				v.requestKeyframe()
			}
		}
	}
}
