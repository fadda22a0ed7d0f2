package hls

import (
	"log/slog"
	"testing"

	"github.com/mosaic-rtc/mosaic/internal/media"
)

// A keyframe without SPS/PPS cannot start the stream: it is skipped, and
// the stream starts at the next keyframe that has them.
func TestKeyframeWithoutParameterSets(t *testing.T) {
	w := &writer{cfg: MuxerConfig{SegmentCount: 7}, log: slog.Default()}
	idr := []byte{0, 0, 0, 1, 0x65, 0x88, 0x84, 0x00}
	if err := w.write(media.Sample{Kind: media.Video, Codec: media.H264, Data: idr, Keyframe: true}); err != nil {
		t.Fatal(err)
	}
	if w.hls != nil {
		t.Fatal("stream started without SPS/PPS")
	}
	if w.errors.Load() != 1 {
		t.Errorf("%d errors counted, want 1", w.errors.Load())
	}
	if err := w.write(media.Sample{Kind: media.Audio, Codec: media.AAC, Data: []byte{1, 2}}); err != nil {
		t.Fatal(err)
	}
}
