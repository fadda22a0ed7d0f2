package jobs

import "errors"

var (
	// ErrBadPayload is returned for task payloads that do not decode or
	// fail validation; such tasks are never retried.
	ErrBadPayload = errors.New("jobs: bad payload")
	// ErrNotReady is returned by the finalize handler while the recording
	// is still running or has segments not yet uploaded; the task is retried.
	ErrNotReady = errors.New("jobs: recording not ready to finalize")
	// ErrNoSegments is returned when a recording stopped without any segment.
	ErrNoSegments = errors.New("jobs: recording has no segments")
	// ErrSegmentLost is returned when a segment's local file is gone and the
	// object store does not hold a verified copy.
	ErrSegmentLost = errors.New("jobs: segment lost")
	// ErrWebhook is returned when the webhook answers with a non-2xx status.
	ErrWebhook = errors.New("jobs: webhook rejected the notification")
	// ErrConfig is returned for an unusable configuration.
	ErrConfig = errors.New("jobs: invalid configuration")
)

var (
	// ErrCompositionNotFound is returned for an unknown composition.
	ErrCompositionNotFound = errors.New("jobs: composition not found")
	// ErrCompositionExists is returned when creating a composition whose ID is taken.
	ErrCompositionExists = errors.New("jobs: composition exists")
	// ErrNoTracks is returned when composing a recording without raw tracks.
	ErrNoTracks = errors.New("jobs: recording has no raw tracks")
	// ErrBadRender marks a render that can never succeed (bad layout,
	// range or tracks): a Renderer wraps such errors with it and the task
	// is not retried.
	ErrBadRender = errors.New("jobs: render impossible")
)
