package mixer

import (
	"testing"
	"time"

	"github.com/mosaic-rtc/mosaic/internal/media"
)

// spsOf returns the first SPS NAL unit (header byte included) of an Annex-B access unit.
func spsOf(au []byte) []byte {
	for i := 0; i+3 < len(au); i++ {
		if au[i] != 0 || au[i+1] != 0 || au[i+2] != 1 {
			continue
		}
		start := i + 3
		if au[start]&0x1f != 7 {
			continue
		}
		end := len(au)
		for j := start; j+2 < len(au); j++ {
			if au[j] == 0 && au[j+1] == 0 && (au[j+2] == 1 || au[j+2] == 0) {
				end = j
				break
			}
		}
		return au[start:end]
	}
	return nil
}

// TestH264IsConstrainedBaseline: WHEP viewers are offered profile-level-id
// 42e01f (constrained baseline, level 3.1), so the composite's SPS must say
// constrained baseline at level 3.1 or lower, and no frame may be reordered.
func TestH264IsConstrainedBaseline(t *testing.T) {
	m := newMixer(t, Config{}) // 1280x720 at 30 fps: level 3.1
	r := m.Output().Subscribe("profile", 1024)
	defer r.Close()
	var sps []byte
	frames := 0
	timeout := time.After(10 * time.Second)
	for frames < 60 {
		select {
		case s := <-r.C:
			if s.Codec != media.H264 {
				continue
			}
			frames++
			if s.DTS != s.PTS {
				t.Fatalf("frame %d: DTS %s != PTS %s: B-frames are not baseline", frames, s.DTS, s.PTS)
			}
			if s.Keyframe && sps == nil {
				sps = spsOf(s.Data)
			}
		case <-timeout:
			t.Fatalf("only %d video frames in 10 s", frames)
		}
	}
	if len(sps) < 4 {
		t.Fatalf("no SPS on the keyframes")
	}
	profile, constraints, level := sps[1], sps[2], sps[3]
	t.Logf("SPS profile_idc %d constraint flags %#02x level_idc %d", profile, constraints, level)
	if profile != 66 || constraints&0x40 == 0 {
		t.Fatalf("profile_idc %d, constraint flags %#02x: want 66 with constraint_set1 (constrained baseline)", profile, constraints)
	}
	if level > 31 {
		t.Fatalf("level_idc %d, want at most 31 (3.1) as offered", level)
	}
}
