package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/hibiken/asynq"
)

// Outbox keeps tasks that could not be enqueued (Redis unreachable) as
// files, Dir/<task-id>.json, and enqueues them once Redis answers again. A
// task whose ID is already known to the queue counts as enqueued.
type Outbox struct {
	dir      string
	client   *asynq.Client
	interval time.Duration
	log      *slog.Logger
}

func newOutbox(dir string, client *asynq.Client, interval time.Duration, log *slog.Logger) (*Outbox, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("%w: outbox: %w", ErrConfig, err)
	}
	if interval <= 0 {
		interval = 2 * time.Second
	}
	return &Outbox{dir: dir, client: client, interval: interval, log: log}, nil
}

// Dir is the directory holding the waiting tasks.
func (o *Outbox) Dir() string { return o.dir }

// Save writes the task atomically (temporary file, fsync, rename).
func (o *Outbox) save(s taskSpec) error {
	if err := s.validate(); err != nil {
		return err
	}
	data, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("outbox: %w", err)
	}
	f, err := os.CreateTemp(o.dir, ".tmp-*")
	if err != nil {
		return fmt.Errorf("outbox: %w", err)
	}
	tmp := f.Name()
	_, werr := f.Write(data)
	serr := f.Sync()
	cerr := f.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("outbox: write %s: %w", s.TaskID, err)
	}
	if err := os.Rename(tmp, filepath.Join(o.dir, s.TaskID+".json")); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("outbox: %w", err)
	}
	return nil
}

// Pending returns the IDs of the tasks waiting in the outbox.
func (o *Outbox) Pending() ([]string, error) {
	entries, err := os.ReadDir(o.dir)
	if err != nil {
		return nil, fmt.Errorf("outbox: %w", err)
	}
	var ids []string
	for _, e := range entries {
		if name := e.Name(); e.Type().IsRegular() && strings.HasSuffix(name, ".json") && !strings.HasPrefix(name, ".") {
			ids = append(ids, strings.TrimSuffix(name, ".json"))
		}
	}
	sort.Strings(ids)
	return ids, nil
}

// Flush enqueues the waiting tasks, stopping at the first enqueue error,
// and returns how many left the outbox.
func (o *Outbox) Flush(ctx context.Context) (int, error) {
	ids, err := o.Pending()
	if err != nil {
		return 0, err
	}
	done := 0
	for _, id := range ids {
		path := filepath.Join(o.dir, id+".json")
		var s taskSpec
		data, err := os.ReadFile(path)
		if err == nil {
			err = json.Unmarshal(data, &s)
		}
		if err == nil {
			err = s.validate()
		}
		if err != nil {
			o.log.Error("unreadable outbox entry set aside", "file", path, "err", err)
			_ = os.Rename(path, path+".bad")
			continue
		}
		if err := enqueueSpec(ctx, o.client, s); err != nil {
			return done, err
		}
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return done, fmt.Errorf("outbox: %w", err)
		}
		done++
		o.log.Info("outbox task enqueued", "task", s.TaskID, "type", s.Type)
	}
	return done, nil
}

// Run flushes the outbox every interval until ctx ends.
func (o *Outbox) Run(ctx context.Context) error {
	t := time.NewTicker(o.interval)
	defer t.Stop()
	for {
		if n, err := o.Flush(ctx); err != nil && ctx.Err() == nil {
			o.log.Debug("outbox not flushed yet", "enqueued", n, "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// enqueueSpec enqueues the task; a task ID the queue already holds is not an
// error (the task is, or was, already there).
func enqueueSpec(ctx context.Context, client *asynq.Client, s taskSpec) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_, err := client.EnqueueContext(ctx, s.task())
	if err == nil || errors.Is(err, asynq.ErrTaskIDConflict) || errors.Is(err, asynq.ErrDuplicateTask) {
		return nil
	}
	return fmt.Errorf("enqueue %s: %w", s.TaskID, err)
}
