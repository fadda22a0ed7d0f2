package recorder

import (
	"testing"
	"time"

	"github.com/mosaic-rtc/mosaic/internal/media"
)

// TestTimelineKeepsAudioFromBeforeTheKeyframe: the mixer's audio comes
// out ahead of its video; the audio frames that were sent before the first
// keyframe arrived still start the recording, from the frame nearest to it.
func TestTimelineKeepsAudioFromBeforeTheKeyframe(t *testing.T) {
	const frame = 1024 * time.Second / 48000 // 21.3 ms
	for _, tc := range []struct {
		name      string
		keyframe  time.Duration
		wantFirst time.Duration // original PTS of the first audio frame recorded
	}{
		{"nearest frame starts before the keyframe", 10*frame + 5*time.Millisecond, 10 * frame},
		{"nearest frame starts after it", 10*frame + 15*time.Millisecond, 11 * frame},
		{"on a frame", 10 * frame, 10 * frame},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var tl timeline
			for i := range 20 {
				tl.hold(media.Sample{Kind: media.Audio, PTS: time.Duration(i) * frame, Duration: frame})
			}
			if _, _, ok := tl.video(tc.keyframe, tc.keyframe, true); !ok {
				t.Fatal("keyframe dropped")
			}
			held := tl.held()
			if len(held) == 0 {
				t.Fatal("no held audio")
			}
			if held[0].PTS != 0 {
				t.Fatalf("first audio frame at %s, want 0", held[0].PTS)
			}
			wantN := int((20*frame - tc.wantFirst) / frame)
			if len(held) != wantN {
				t.Fatalf("%d held frames recorded, want %d (from the frame at %s)", len(held), wantN, tc.wantFirst)
			}
			if got := held[1].PTS; got != tc.wantFirst+frame-tc.keyframe {
				t.Fatalf("second frame at %s, want %s", got, tc.wantFirst+frame-tc.keyframe)
			}
			// Audio after the held frames continues from them.
			if _, ok := tl.audio(20 * frame); !ok {
				t.Fatal("next audio frame dropped")
			}
			if _, ok := tl.audio(19 * frame); ok {
				t.Fatal("audio going back in time accepted")
			}
		})
	}
	var tl timeline
	for i := range 400 {
		tl.hold(media.Sample{Kind: media.Audio, PTS: time.Duration(i) * frame, Duration: frame})
	}
	if span := tl.early[len(tl.early)-1].PTS - tl.early[0].PTS; span > earlyAudio {
		t.Fatalf("%s of audio held, want at most %s", span, earlyAudio)
	}
}
