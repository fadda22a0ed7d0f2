package jobs

import (
	"encoding/json"
	"fmt"
	"regexp"
	"time"

	"github.com/hibiken/asynq"
)

// taskSpec is a task with the options it is enqueued with, in a form the
// outbox can store and replay.
type taskSpec struct {
	Type       string          `json:"type"`
	Payload    json.RawMessage `json:"payload"`
	Queue      string          `json:"queue"`
	TaskID     string          `json:"task_id"`
	MaxRetry   int             `json:"max_retry"`
	TimeoutS   float64         `json:"timeout_s"`
	RetentionS float64         `json:"retention_s"`
}

var taskIDPattern = regexp.MustCompile(`^[a-z]+:[a-z0-9_:]{1,120}$`)

func newSpec(typ string, payload any, queue, id string, maxRetry int, timeout, retention time.Duration) (taskSpec, error) {
	data, err := json.Marshal(payload)
	if err != nil {
		return taskSpec{}, fmt.Errorf("%w: %w", ErrBadPayload, err)
	}
	return taskSpec{Type: typ, Payload: data, Queue: queue, TaskID: id, MaxRetry: maxRetry,
		TimeoutS: timeout.Seconds(), RetentionS: retention.Seconds()}, nil
}

func (s taskSpec) validate() error {
	if s.Type == "" || s.Queue == "" || !taskIDPattern.MatchString(s.TaskID) {
		return fmt.Errorf("%w: task %q type %q queue %q", ErrBadPayload, s.TaskID, s.Type, s.Queue)
	}
	return nil
}

func (s taskSpec) task() *asynq.Task {
	return asynq.NewTask(s.Type, s.Payload, s.options()...)
}

func (s taskSpec) options() []asynq.Option {
	opts := []asynq.Option{asynq.Queue(s.Queue), asynq.TaskID(s.TaskID), asynq.MaxRetry(s.MaxRetry)}
	if s.TimeoutS > 0 {
		opts = append(opts, asynq.Timeout(time.Duration(s.TimeoutS*float64(time.Second))))
	}
	if s.RetentionS > 0 {
		opts = append(opts, asynq.Retention(time.Duration(s.RetentionS*float64(time.Second))))
	}
	return opts
}

func decodePayload(data []byte, v interface{ validate() error }) error {
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("%w: %w: %w", ErrBadPayload, err, asynq.SkipRetry)
	}
	if err := v.validate(); err != nil {
		return fmt.Errorf("%w: %w", err, asynq.SkipRetry)
	}
	return nil
}
