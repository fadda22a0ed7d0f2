package room_test

import (
	"context"
	"testing"
	"time"

	"github.com/mosaic-rtc/mosaic/ingest"
	"github.com/mosaic-rtc/mosaic/internal/media"
	"github.com/mosaic-rtc/mosaic/internal/room"
	"github.com/mosaic-rtc/mosaic/mixer"
)

// TestTrackSinkHintsTheTile: the sink a room hands to ingest for a video
// track tells the size of the track's tile in the composite (so a simulcast
// publisher's fitting layer is forwarded), and it shrinks when a second
// participant shares the picture.
func TestTrackSinkHintsTheTile(t *testing.T) {
	const w, h = 640, 360
	reg := room.New(room.Config{Mixer: mixer.Config{Width: w, Height: h, FPS: 15, VideoBitrateKbps: 300}})
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		reg.Close(ctx)
	}()
	ctx := context.Background()
	video := func(p string) media.TrackInfo {
		return media.TrackInfo{Room: "hint", Participant: p, Name: p, TrackID: "video", Kind: media.Video,
			MimeType: "video/VP8", ClockRate: 90000, PayloadType: 96}
	}
	ir, err := reg.Join(ctx, "hint", ingest.Participant{ID: "a", Name: "a"})
	if err != nil {
		t.Fatal(err)
	}
	r := ir.(*room.Room)
	sa, err := r.AddTrack(video("a"), nil)
	if err != nil {
		t.Fatal(err)
	}
	hint, ok := sa.(media.SizeHinter)
	if !ok {
		t.Fatalf("the room's track sink %T gives no size hint", sa)
	}
	aw, ah := hint.DesiredSize()
	if aw < w/2 || ah < h/2 || aw > w || ah > h {
		t.Fatalf("one participant's tile %dx%d, want most of the %dx%d picture", aw, ah, w, h)
	}
	if _, err := reg.Join(ctx, "hint", ingest.Participant{ID: "b", Name: "b"}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.AddTrack(video("b"), nil); err != nil {
		t.Fatal(err)
	}
	bw, bh := hint.DesiredSize()
	if bw <= 0 || bh <= 0 || bw*bh >= aw*ah {
		t.Fatalf("with two participants the tile is %dx%d, want smaller than %dx%d", bw, bh, aw, ah)
	}
}
