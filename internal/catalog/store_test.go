package catalog_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/mosaic-rtc/mosaic/internal/catalog"
	"github.com/mosaic-rtc/mosaic/internal/testenv"
)

func newStore(t *testing.T) *catalog.Store {
	t.Helper()
	opt, err := redis.ParseURL(testenv.Redis(t))
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opt)
	t.Cleanup(func() { rdb.Close() })
	return catalog.New(rdb, "test:")
}

func newRec(room string, started time.Time) *catalog.Recording {
	return &catalog.Recording{ID: catalog.NewID(), Room: room, State: catalog.StateRecording, StartedAt: started}
}

func TestCreateGetListDelete(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	base := time.Now().Add(-time.Hour).UTC().Truncate(time.Millisecond)
	var ids []string
	for i := range 5 {
		room := "alpha"
		if i%2 == 1 {
			room = "beta"
		}
		r := newRec(room, base.Add(time.Duration(i)*time.Minute))
		if err := s.Create(ctx, r); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r.ID)
	}
	dup := newRec("alpha", base)
	dup.ID = ids[0]
	if err := s.Create(ctx, dup); !errors.Is(err, catalog.ErrExists) {
		t.Fatalf("duplicate create: %v", err)
	}

	got, err := s.Get(ctx, ids[2])
	if err != nil || got.Room != "alpha" || !got.StartedAt.Equal(base.Add(2*time.Minute)) || got.State != catalog.StateRecording {
		t.Fatalf("get: %v %+v", err, got)
	}

	alpha, err := s.List(ctx, "alpha", 0, 10)
	if err != nil || len(alpha) != 3 || alpha[0].ID != ids[4] || alpha[2].ID != ids[0] {
		t.Fatalf("list alpha (newest first): %v %v", err, alpha)
	}
	page, err := s.List(ctx, "", 1, 2)
	if err != nil || len(page) != 2 || page[0].ID != ids[3] || page[1].ID != ids[2] {
		t.Fatalf("list all, page 2: %v %v", err, page)
	}

	if err := s.Delete(ctx, ids[4]); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, ids[4]); !errors.Is(err, catalog.ErrNotFound) {
		t.Fatalf("get deleted: %v", err)
	}
	if err := s.Delete(ctx, ids[4]); !errors.Is(err, catalog.ErrNotFound) {
		t.Fatalf("delete twice: %v", err)
	}
	alpha, _ = s.List(ctx, "alpha", 0, 10)
	if len(alpha) != 2 {
		t.Fatalf("alpha after delete: %d", len(alpha))
	}
	if _, err := s.Get(ctx, catalog.NewID()); !errors.Is(err, catalog.ErrNotFound) {
		t.Fatalf("get unknown: %v", err)
	}
}

func TestUpdateIsAtomicUnderContention(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	r := newRec("room1", time.Now())
	if err := s.Create(ctx, r); err != nil {
		t.Fatal(err)
	}
	const writers = 8
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for i := range writers {
		wg.Go(func() {
			_, err := s.Update(ctx, r.ID, func(rec *catalog.Recording) error {
				rec.PutSegment(catalog.Segment{Index: i + 1, Name: "seg", DurationS: 2})
				return nil
			})
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Get(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Segments) != writers {
		t.Fatalf("lost updates: %d segments, want %d", len(got.Segments), writers)
	}
	for i, seg := range got.Segments {
		if seg.Index != i+1 {
			t.Fatalf("segments out of order: %+v", got.Segments)
		}
	}

	// An error from fn aborts without writing.
	boom := errors.New("boom")
	_, err = s.Update(ctx, r.ID, func(rec *catalog.Recording) error {
		rec.State = catalog.StateFailed
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("fn error: %v", err)
	}
	got, _ = s.Get(ctx, r.ID)
	if got.State != catalog.StateRecording {
		t.Fatalf("aborted update was written: %s", got.State)
	}
	// Invalid results are refused.
	if _, err := s.Update(ctx, r.ID, func(rec *catalog.Recording) error { rec.State = "bogus"; return nil }); !errors.Is(err, catalog.ErrInvalid) {
		t.Fatalf("invalid state: %v", err)
	}
	if _, err := s.Update(ctx, catalog.NewID(), func(*catalog.Recording) error { return nil }); !errors.Is(err, catalog.ErrNotFound) {
		t.Fatalf("update unknown: %v", err)
	}
}

func TestIDs(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		id := catalog.NewID()
		if !catalog.ValidID(id) || seen[id] {
			t.Fatalf("NewID %q invalid or repeated", id)
		}
		seen[id] = true
	}
	for _, bad := range []string{"", "rec_", "rec_short", "rec_../../../etc/passwd0", "REC_0123456789abcdef",
		"rec_0123456789ABCDEF", "rec_0123456789abcdef/", "rec_0123456789abcdef\n", "x_0123456789abcdef", "rec_0123456789abcde."} {
		if catalog.ValidID(bad) {
			t.Errorf("ValidID(%q) = true", bad)
		}
	}
	s := catalog.New(nil, "x:")
	if _, err := s.Get(context.Background(), "../etc"); !errors.Is(err, catalog.ErrBadID) {
		t.Fatalf("Get bad id: %v", err)
	}
	for _, room := range []string{"", "..", "a/b", "a b", "-x", "a..b"} {
		if catalog.ValidRoom(room) {
			t.Errorf("ValidRoom(%q) = true", room)
		}
	}
	bad := &catalog.Recording{ID: catalog.NewID(), Room: "a/b", State: catalog.StateRecording, StartedAt: time.Now()}
	if err := s.Create(context.Background(), bad); !errors.Is(err, catalog.ErrInvalid) {
		t.Fatalf("create with bad room: %v", err)
	}
}

func TestReadyToFinalize(t *testing.T) {
	now := time.Now()
	r := &catalog.Recording{State: catalog.StateUploading}
	if r.ReadyToFinalize() {
		t.Fatal("ready without segments or stop")
	}
	r.PutSegment(catalog.Segment{Index: 2})
	r.PutSegment(catalog.Segment{Index: 1, Uploaded: true})
	r.StoppedAt = &now
	if r.ReadyToFinalize() || r.Segments[0].Index != 1 {
		t.Fatalf("ready with segment 2 not uploaded: %+v", r.Segments)
	}
	r.Segment(2).Uploaded = true
	if !r.ReadyToFinalize() {
		t.Fatal("not ready with all uploaded and stopped")
	}
	r.State = catalog.StateReady
	if r.ReadyToFinalize() {
		t.Fatal("ready again after finalize")
	}
}
