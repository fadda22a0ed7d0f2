package compose

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/go-gst/go-gst/gst"

	"github.com/mosaic-rtc/mosaic/internal/media"
	"github.com/mosaic-rtc/mosaic/recorder"
)

// SplitClip stores each stream of a Matroska/WebM clip as its own track
// file in dir (participant-cam.mkv, participant-mic.mkv), without
// re-encoding, the way raw track recording stores them; every track gets
// the same start, so the clips of several participants play together.
// It makes inputs for benchmarks and tools:
//
//	filesrc → matroskademux ┬→ matroskamux → filesink (video)
//	                        └→ matroskamux → filesink (audio)
func SplitClip(ctx context.Context, clip, dir, participant string, start time.Time) ([]TrackFile, error) {
	initGst()
	p, err := gst.NewPipeline("compose-split")
	if err != nil {
		return nil, fmt.Errorf("%w: new pipeline: %w", ErrPipeline, err)
	}
	defer stop(p)
	src, err := addChain(p, el("filesrc", map[string]any{"location": clip}), el("matroskademux", nil))
	if err != nil {
		return nil, err
	}
	var mu sync.Mutex
	var files []TrackFile
	linkErr := make(chan error, 4)
	if _, err := src[1].Connect("pad-added", func(_ *gst.Element, pad *gst.Pad) {
		kind, name, tmpl := media.Video, "cam", "video_%u"
		if strings.HasPrefix(pad.GetName(), "audio") {
			kind, name, tmpl = media.Audio, "mic", "audio_%u"
		}
		path := filepath.Join(dir, participant+"-"+name+".mkv")
		out, err := addChain(p, el("matroskamux", nil), el("filesink", map[string]any{"location": path, "sync": false, "async": false}))
		if err == nil {
			sink := out[0].GetRequestPad(tmpl)
			if sink == nil {
				err = fmt.Errorf("%w: matroskamux has no %s pad", ErrPipeline, tmpl)
			} else {
				err = linkPads(pad, sink)
			}
		}
		if err == nil {
			for _, e := range out {
				e.SyncStateWithParent()
			}
		}
		if err != nil {
			linkErr <- err
			return
		}
		mu.Lock()
		files = append(files, TrackFile{Participant: participant, Name: name, Kind: kind, Path: path,
			Timing: recorder.TrackTiming{Participant: participant, TrackID: name, Kind: kind, FirstArrival: start}})
		mu.Unlock()
	}); err != nil {
		return nil, fmt.Errorf("%w: pad-added: %w", ErrPipeline, err)
	}
	if err := p.SetState(gst.StatePlaying); err != nil {
		return nil, fmt.Errorf("%w: %s: play: %w", ErrTrack, clip, err)
	}
	if err := waitEOS(ctx, p, linkErr, decodeTimeout); err != nil {
		return nil, fmt.Errorf("compose: split %s: %w", clip, err)
	}
	mu.Lock()
	defer mu.Unlock()
	return files, nil
}
