package recording

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sync"
	"time"

	"github.com/mosaic-rtc/mosaic/internal/catalog"
	"github.com/mosaic-rtc/mosaic/internal/media"
	"github.com/mosaic-rtc/mosaic/jobs"
	"github.com/mosaic-rtc/mosaic/recorder"
	"github.com/mosaic-rtc/mosaic/storage"
)

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9_-]+`)

// trackName is the file name of a participant's track in a recording:
// tracks/{participant}-{track}.mkv with both parts made safe.
func trackName(info media.TrackInfo, taken func(string) bool) string {
	part := func(s, def string, max int) string {
		s = unsafeName.ReplaceAllString(s, "_")
		if s == "" {
			s = def
		}
		if len(s) > max {
			s = s[:max]
		}
		return s
	}
	base := part(info.Participant, "participant", 48) + "-" + part(info.TrackID, string(info.Kind), 40)
	name := "tracks/" + base + ".mkv"
	for i := 2; taken(name); i++ {
		name = fmt.Sprintf("tracks/%s_%d.mkv", base, i)
	}
	return name
}

// trackTap is a recording's raw-track recorder: the room hands it each of its
// tracks and it records them, one Matroska file each.
type trackTap struct {
	s *session

	mu    sync.Mutex
	next  int
	names map[string]bool
}

func newTrackTap(s *session) *trackTap { return &trackTap{s: s, names: map[string]bool{}} }

// AddTrack implements room.TrackTap.
func (tt *trackTap) AddTrack(info media.TrackInfo) (media.TrackSink, error) {
	tt.mu.Lock()
	tt.next++
	index := tt.next
	name := trackName(info, func(n string) bool { return tt.names[n] })
	tt.names[name] = true
	tt.mu.Unlock()

	s := tt.s
	path := filepath.Join(s.m.cfg.Dir, s.id, filepath.FromSlash(name))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	tf := catalog.TrackFile{Index: index, Name: name, Participant: info.Participant, TrackID: info.TrackID,
		Kind: string(info.Kind), MimeType: info.MimeType}
	// Registered before the file exists: finalization waits for it.
	if _, err := s.m.cfg.Catalog.Update(ctx, s.id, func(r *catalog.Recording) error {
		if r.TrackFile(index) == nil {
			r.TrackFiles = append(r.TrackFiles, tf)
		}
		return nil
	}); err != nil {
		return nil, fmt.Errorf("recording %s: register track %s: %w", s.id, name, err)
	}
	t, err := recorder.NewTrack(recorder.TrackConfig{Path: path, Info: info,
		Log: s.m.log.With("recording", s.id, "track_file", name)})
	if err != nil {
		s.dropTrack(index)
		return nil, fmt.Errorf("recording %s: track %s: %w", s.id, name, err)
	}
	s.m.log.Info("track recording started", "recording", s.id, "participant", info.Participant, "track", info.TrackID, "file", name)
	return &trackFile{s: s, t: t, file: tf, path: path}, nil
}

// trackFile is one track being recorded; Close finishes the file and queues
// its upload.
type trackFile struct {
	s    *session
	t    *recorder.Track
	file catalog.TrackFile
	path string
	once sync.Once
	err  error
}

func (f *trackFile) WriteRTP(packet []byte) error            { return f.t.WriteRTP(packet) }
func (f *trackFile) WriteSenderReport(sr media.SenderReport) { f.t.WriteSenderReport(sr) }

func (f *trackFile) Close() error {
	f.once.Do(func() {
		closeErr := f.t.Close()
		if closeErr != nil {
			f.s.m.log.Warn("track file not finished cleanly", "recording", f.s.id, "file", f.file.Name, "err", closeErr)
		}
		f.err = f.s.queueTrack(f.file, f.path)
	})
	return f.err
}

// queueTrack hashes a finished (or recovered) track file and queues its
// upload; a track that never received media is dropped from the recording.
func (s *session) queueTrack(tf catalog.TrackFile, path string) error {
	return queueTrack(s.m, s.id, s.room.Name(), tf, path)
}

func queueTrack(m *Manager, id, roomName string, tf catalog.TrackFile, path string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := os.Stat(path)
	if err != nil || st.Size() == 0 {
		os.Remove(path)
		os.Remove(recorder.TimingPath(path))
		m.dropTrack(id, tf.Index)
		return nil
	}
	sum, size, err := storage.HashFile(path)
	if err != nil {
		return fmt.Errorf("recording %s: track %s: %w", id, tf.Name, err)
	}
	if _, err := m.cfg.Catalog.Update(ctx, id, func(r *catalog.Recording) error {
		if t := r.TrackFile(tf.Index); t != nil && !t.Uploaded {
			t.Size, t.SHA256, t.Closed = size, sum, true
		}
		return nil
	}); err != nil {
		m.log.Error("catalog track file", "recording", id, "file", tf.Name, "err", err)
	}
	if err := m.cfg.Jobs.EnqueueUpload(ctx, jobs.UploadPayload{
		RecordingID: id, Room: roomName, Index: tf.Index, Path: path, Size: size, SHA256: sum,
		Track: tf.Name, TimingPath: recorder.TimingPath(path),
	}); err != nil {
		return fmt.Errorf("recording %s: queue track %s: %w", id, tf.Name, err)
	}
	return nil
}

func (s *session) dropTrack(index int) { s.m.dropTrack(s.id, index) }

func (m *Manager) dropTrack(id string, index int) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := m.cfg.Catalog.Update(ctx, id, func(r *catalog.Recording) error {
		for i, t := range r.TrackFiles {
			if t.Index == index && !t.Uploaded {
				r.TrackFiles = append(r.TrackFiles[:i], r.TrackFiles[i+1:]...)
				break
			}
		}
		return nil
	}); err != nil {
		m.log.Error("drop empty track file", "recording", id, "track", index, "err", err)
	}
}
