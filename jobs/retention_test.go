package jobs_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/mosaic-rtc/mosaic/internal/catalog"
	"github.com/mosaic-rtc/mosaic/jobs"
	"github.com/mosaic-rtc/mosaic/storage"
)

// TestSweepDeletesOnlyOldFinished: the retention sweep deletes ready and
// failed recordings stopped before the cutoff (objects and catalog), and
// leaves young ones and unfinished ones — however old — alone.
func TestSweepDeletesOnlyOldFinished(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	now := time.Now().UTC()
	file := filepath.Join(t.TempDir(), "obj")
	if err := os.WriteFile(file, []byte("media"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		state   catalog.State
		stopped time.Duration // ago; 0: not stopped
		gone    bool
	}{
		{catalog.StateReady, 48 * time.Hour, true},
		{catalog.StateFailed, 48 * time.Hour, true},
		{catalog.StateReady, time.Hour, false},
		{catalog.StateUploading, 48 * time.Hour, false},
		{catalog.StateRecording, 0, false},
	}
	ids := make([]string, len(cases))
	for i, c := range cases {
		r := &catalog.Recording{ID: catalog.NewID(), Room: "ret", State: c.state, StartedAt: now.Add(-72 * time.Hour)}
		if c.stopped > 0 {
			at := now.Add(-c.stopped)
			r.StoppedAt = &at
		}
		if err := e.cat.Create(ctx, r); err != nil {
			t.Fatal(err)
		}
		ids[i] = r.ID
		if _, err := e.store.PutFile(ctx, jobs.FileKey("ret", r.ID, jobs.CompositeName), file, storage.PutOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	n, err := jobs.Sweep(ctx, e.cat, e.store, 24*time.Hour, now, e.log)
	if err != nil || n != 2 {
		t.Fatalf("Sweep = %d, %v; want 2 deleted", n, err)
	}
	for i, c := range cases {
		_, gerr := e.cat.Get(ctx, ids[i])
		objs, lerr := e.store.List(ctx, jobs.RecordingPrefix("ret", ids[i]))
		if lerr != nil {
			t.Fatal(lerr)
		}
		if c.gone != errors.Is(gerr, catalog.ErrNotFound) || c.gone != (len(objs) == 0) {
			t.Errorf("%s stopped %s ago: catalog err %v, %d objects; want deleted %v", c.state, c.stopped, gerr, len(objs), c.gone)
		}
	}
}
