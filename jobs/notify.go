package jobs

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/hibiken/asynq"

	"github.com/mosaic-rtc/mosaic/internal/catalog"
)

// TypeNotify posts a finished recording to a webhook.
const TypeNotify = "recording:notify"

// SignatureHeader carries "sha256=<hex HMAC-SHA256 of the body>".
const SignatureHeader = "X-Mosaic-Signature"

const (
	notifyQueue     = "default"
	notifyMaxRetry  = 15
	notifyTimeout   = 30 * time.Second
	notifyRetention = 24 * time.Hour
)

// NotifyPayload names the recording and the webhook to tell.
type NotifyPayload struct {
	RecordingID string `json:"recording_id"`
	URL         string `json:"url"`
}

func (p *NotifyPayload) validate() error {
	if !catalog.ValidID(p.RecordingID) {
		return fmt.Errorf("%w: recording %q", ErrBadPayload, p.RecordingID)
	}
	u, err := url.Parse(p.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%w: webhook url %q", ErrBadPayload, p.URL)
	}
	return nil
}

// NotifyTaskID is the unique task ID of a recording's notification.
func NotifyTaskID(recordingID string) string { return "notify:" + recordingID }

func notifySpec(p NotifyPayload) (taskSpec, error) {
	if err := p.validate(); err != nil {
		return taskSpec{}, err
	}
	return newSpec(TypeNotify, p, notifyQueue, NotifyTaskID(p.RecordingID), notifyMaxRetry, notifyTimeout, notifyRetention)
}

// NewNotifyTask builds the webhook task of a recording.
func NewNotifyTask(p NotifyPayload) (*asynq.Task, error) {
	s, err := notifySpec(p)
	if err != nil {
		return nil, err
	}
	return s.task(), nil
}

// Sign returns the SignatureHeader value for body under secret.
func Sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// VerifySignature reports whether header is the signature of body under
// secret (constant-time).
func VerifySignature(secret string, body []byte, header string) bool {
	return hmac.Equal([]byte(Sign(secret, body)), []byte(header))
}

func (h *handlers) handleNotify(ctx context.Context, t *asynq.Task) error {
	var p NotifyPayload
	if err := decodePayload(t.Payload(), &p); err != nil {
		return err
	}
	rec, err := h.cat.Get(ctx, p.RecordingID)
	if errors.Is(err, catalog.ErrNotFound) {
		return fmt.Errorf("notify: %w: %w", err, asynq.SkipRetry)
	}
	if err != nil {
		return fmt.Errorf("notify: %w", err)
	}
	body, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("notify %s: %w", p.RecordingID, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.URL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("notify %s: %w: %w", p.RecordingID, err, asynq.SkipRetry)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "mosaic")
	req.Header.Set(SignatureHeader, Sign(h.webhookSecret, body))
	resp, err := h.http.Do(req)
	if err != nil {
		return fmt.Errorf("notify %s: %w", p.RecordingID, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("notify %s: %w: status %d", p.RecordingID, ErrWebhook, resp.StatusCode)
	}
	h.log.Info("webhook notified", "recording", p.RecordingID, "status", resp.StatusCode)
	return nil
}
