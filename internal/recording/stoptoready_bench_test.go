package recording

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/redis/go-redis/v9"

	"github.com/mosaic-rtc/mosaic/internal/catalog"
	"github.com/mosaic-rtc/mosaic/internal/mediatest"
	"github.com/mosaic-rtc/mosaic/internal/testenv"
	"github.com/mosaic-rtc/mosaic/jobs"
	"github.com/mosaic-rtc/mosaic/recorder"
	"github.com/mosaic-rtc/mosaic/storage"
)

// benchSegment encodes one 6 s fragmented-MP4 segment like the recorder's
// (H264 1280x720 30 fps 2.5 Mbit/s, AAC stereo 48 kHz, 250 ms fragments).
func benchSegment(b *testing.B, dir string) string {
	b.Helper()
	out := filepath.Join(dir, "seg.mp4")
	cmd := exec.Command("ffmpeg", "-loglevel", "error", "-y",
		"-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=30", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
		"-t", "6", "-c:v", "libx264", "-preset", "ultrafast", "-g", "60", "-b:v", "2500k", "-pix_fmt", "yuv420p",
		"-c:a", "aac", "-ac", "2", "-movflags", "+frag_keyframe+empty_moov+default_base_moof", "-frag_duration", "250000", out)
	if data, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("ffmpeg: %v: %s", err, data)
	}
	return out
}

// BenchmarkStopToReady measures, for a 10-minute recording (100 segments of
// 6 s), the time from stop — last segment queued, finalize queued — to the
// recording being ready with composite.mp4 in the store, through the real
// queue, worker, store and GStreamer concat. It also reports the upload
// throughput of the queued path for the first 99 segments and of plain
// minio-go FPutObject of the same files.
func BenchmarkStopToReady(b *testing.B) {
	const segments = 100
	dir := b.TempDir()
	seg := benchSegment(b, dir)
	st, err := os.Stat(seg)
	if err != nil {
		b.Fatal(err)
	}
	redisURL := testenv.Redis(b)
	s3 := testenv.StartS3(b)
	store, err := storage.New(storage.Config{Endpoint: s3.Endpoint, AccessKey: s3.AccessKey, SecretKey: s3.SecretKey,
		Bucket: "mosaic", Region: s3.Region, PathStyle: true})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := store.EnsureBucket(ctx); err != nil {
		b.Fatal(err)
	}
	opt, _ := redis.ParseURL(redisURL)
	rdb := redis.NewClient(opt)
	defer rdb.Close()
	cat := catalog.New(rdb, "bench")
	enq, err := jobs.NewEnqueuer(jobs.EnqueuerConfig{RedisURL: redisURL, Catalog: cat})
	if err != nil {
		b.Fatal(err)
	}
	defer enq.Close()
	w, err := jobs.NewWorker(jobs.WorkerConfig{RedisURL: redisURL, Concurrency: 2, Store: store, Catalog: cat, Enqueuer: enq,
		Media: jobs.MediaFuncs{ConcatFunc: recorder.Concat, ThumbnailFunc: recorder.Thumbnail}, Dir: dir,
		PollInterval: 200 * time.Millisecond})
	if err != nil {
		b.Fatal(err)
	}
	wdone := make(chan error, 1)
	go func() { wdone <- w.Run(ctx) }()
	defer func() { cancel(); <-wdone }()

	var queuedMBps, plainMBps, stopToReady float64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		rec := &catalog.Recording{ID: catalog.NewID(), Room: "bench", State: catalog.StateRecording, StartedAt: time.Now().UTC()}
		if err := cat.Create(ctx, rec); err != nil {
			b.Fatal(err)
		}
		payload := func(index int) jobs.UploadPayload {
			path := filepath.Join(dir, fmt.Sprintf("%s-%05d.mp4", rec.ID, index))
			if err := os.Link(seg, path); err != nil {
				b.Fatal(err)
			}
			return jobs.UploadPayload{RecordingID: rec.ID, Room: rec.Room, Index: index, Path: path,
				Size: st.Size(), StartS: float64(index-1) * 6, DurationS: 6}
		}
		// While recording: segments 1..99 go through the queue as they close.
		t0 := time.Now()
		for k := 1; k < segments; k++ {
			if err := enq.EnqueueUpload(ctx, payload(k)); err != nil {
				b.Fatal(err)
			}
		}
		waitRecording(b, cat, rec.ID, func(r *catalog.Recording) bool {
			up := 0
			for _, s := range r.Segments {
				if s.Uploaded {
					up++
				}
			}
			return up == segments-1
		})
		queuedMBps = float64(st.Size()*(segments-1)) / time.Since(t0).Seconds() / 1e6

		// Stop: the last segment and the finalize are queued.
		last := payload(segments)
		b.StartTimer()
		t1 := time.Now()
		if err := enq.EnqueueUpload(ctx, last); err != nil {
			b.Fatal(err)
		}
		now := time.Now().UTC()
		if _, err := cat.Update(ctx, rec.ID, func(r *catalog.Recording) error {
			r.State, r.StoppedAt = catalog.StateUploading, &now
			return nil
		}); err != nil {
			b.Fatal(err)
		}
		if err := enq.EnqueueFinalize(ctx, jobs.FinalizePayload{RecordingID: rec.ID}); err != nil {
			b.Fatal(err)
		}
		ready := waitRecording(b, cat, rec.ID, func(r *catalog.Recording) bool { return r.State == catalog.StateReady })
		stopToReady = time.Since(t1).Seconds()
		b.StopTimer()
		if ready.DurationS < segments*6-1 {
			b.Fatalf("ready recording lasts %.1f s, want %d s", ready.DurationS, segments*6)
		}
		checkComposite(b, ctx, store, ready, dir, float64(segments)*mediatest.Probe(b, seg).Duration)

		// The same bytes with plain minio-go, one after the other.
		mc, err := minio.New(s3.Endpoint, &minio.Options{Creds: credentials.NewStaticV4(s3.AccessKey, s3.SecretKey, ""), Region: s3.Region})
		if err != nil {
			b.Fatal(err)
		}
		t2 := time.Now()
		for k := 1; k < segments; k++ {
			if _, err := mc.FPutObject(ctx, "mosaic", fmt.Sprintf("plain/%s/seg-%05d.mp4", rec.ID, k), seg,
				minio.PutObjectOptions{ContentType: "video/mp4"}); err != nil {
				b.Fatal(err)
			}
		}
		plainMBps = float64(st.Size()*(segments-1)) / time.Since(t2).Seconds() / 1e6
		b.StartTimer()
	}
	b.ReportMetric(stopToReady, "s-stop-to-ready")
	b.ReportMetric(queuedMBps, "MB/s-queued")
	b.ReportMetric(plainMBps, "MB/s-fputobject")
	b.ReportMetric(float64(st.Size())/1e6, "MB/segment")
}

// checkComposite downloads the recording's composite.mp4 and checks that it
// is one progressive file with its index in front, lasts want seconds, and
// decodes at its start and its end.
func checkComposite(b *testing.B, ctx context.Context, store *storage.Client, rec *catalog.Recording, dir string, want float64) {
	b.Helper()
	var key string
	for _, f := range rec.Files {
		if f.Name == jobs.CompositeName {
			key = f.Key
		}
	}
	path := filepath.Join(dir, rec.ID+"-composite.mp4")
	if err := store.Download(ctx, key, path); err != nil {
		b.Fatal(err)
	}
	defer os.Remove(path)
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	var types []string
	for off := int64(0); ; {
		var hdr [16]byte
		if _, err := f.ReadAt(hdr[:8], off); err != nil {
			break
		}
		size := int64(binary.BigEndian.Uint32(hdr[:4]))
		if size == 1 {
			if _, err := f.ReadAt(hdr[8:], off+8); err != nil {
				break
			}
			size = int64(binary.BigEndian.Uint64(hdr[8:]))
		}
		types = append(types, string(hdr[4:8]))
		if size < 8 {
			break
		}
		off += size
	}
	f.Close()
	if strings.Join(types, " ") != "ftyp moov mdat" {
		b.Fatalf("composite boxes %v, want ftyp moov mdat", types)
	}
	info := mediatest.Probe(b, path)
	if v := info.Video(); v == nil || math.Abs(v.Duration-want) > 0.5 || info.Audio() == nil {
		b.Fatalf("composite %+v, want video and audio of %.2f s", info, want)
	}
	for _, at := range []float64{0, want - 3} {
		out, err := exec.Command("ffmpeg", "-v", "error", "-ss", fmt.Sprint(at), "-i", path, "-t", "3", "-f", "null", "-").CombinedOutput()
		if err != nil || len(out) > 0 {
			b.Fatalf("decoding the composite at %.0f s: %v: %s", at, err, out)
		}
	}
}

func waitRecording(b *testing.B, cat *catalog.Store, id string, done func(*catalog.Recording) bool) *catalog.Recording {
	b.Helper()
	deadline := time.Now().Add(5 * time.Minute)
	for {
		r, err := cat.Get(context.Background(), id)
		if err != nil {
			b.Fatal(err)
		}
		if r.State == catalog.StateFailed {
			b.Fatalf("recording failed: %s", r.Error)
		}
		if done(r) {
			return r
		}
		if time.Now().After(deadline) {
			b.Fatalf("recording %s not done after 5 min: state %s", id, r.State)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
