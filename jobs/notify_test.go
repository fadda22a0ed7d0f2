package jobs_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/mosaic-rtc/mosaic/internal/catalog"
	"github.com/mosaic-rtc/mosaic/jobs"
)

func TestNotifySignsAndRetries(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	hook := &webhook{fail: 2}
	srv := httptest.NewServer(hook)
	defer srv.Close()
	rec := e.newRecording(t, "room-n")

	w, err := jobs.NewWorker(jobs.WorkerConfig{RedisURL: e.redisURL, Store: e.store, Catalog: e.cat, Log: e.log, WebhookSecret: "hook-secret"})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	task, err := jobs.NewNotifyTask(jobs.NotifyPayload{RecordingID: rec.ID, URL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Mux().ProcessTask(ctx, task); !errors.Is(err, jobs.ErrWebhook) {
		t.Fatalf("500 answer: %v", err)
	}

	// Through the queue: retried until the webhook accepts.
	e.startWorker(t, jobs.WorkerConfig{WebhookSecret: "hook-secret"})
	enq := e.enqueuer(t, "")
	if err := enq.EnqueueNotify(ctx, jobs.NotifyPayload{RecordingID: rec.ID, URL: srv.URL}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "webhook delivery", func() bool { b, _ := hook.received(); return len(b) == 1 })
	bodies, bad := hook.received()
	var got catalog.Recording
	if err := json.Unmarshal(bodies[0], &got); err != nil || got.ID != rec.ID || bad != 0 {
		t.Fatalf("delivery %v (bad %d): %s", err, bad, bodies[0])
	}

	// A wrong secret is refused by the receiver.
	w2, _ := jobs.NewWorker(jobs.WorkerConfig{RedisURL: e.redisURL, Store: e.store, Catalog: e.cat, Log: e.log, WebhookSecret: "wrong"})
	defer w2.Close()
	task, _ = jobs.NewNotifyTask(jobs.NotifyPayload{RecordingID: rec.ID, URL: srv.URL})
	if err := w2.Mux().ProcessTask(ctx, task); !errors.Is(err, jobs.ErrWebhook) {
		t.Fatalf("wrong secret: %v", err)
	}
	if _, bad := hook.received(); bad != 1 {
		t.Fatalf("bad signatures seen: %d", bad)
	}
	if !jobs.VerifySignature("k", []byte("body"), jobs.Sign("k", []byte("body"))) || jobs.VerifySignature("k", []byte("body2"), jobs.Sign("k", []byte("body"))) {
		t.Fatal("Sign/VerifySignature disagree")
	}
}
