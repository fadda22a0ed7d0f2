package jobs

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/redis/go-redis/v9"
)

// CompositionState is where a composition is in its life.
type CompositionState string

const (
	CompositionQueued    CompositionState = "queued"
	CompositionRendering CompositionState = "rendering"
	CompositionDone      CompositionState = "done"
	CompositionFailed    CompositionState = "failed"
	CompositionCancelled CompositionState = "cancelled"
)

// Final reports whether the state does not change any more.
func (s CompositionState) Final() bool {
	return s == CompositionDone || s == CompositionFailed || s == CompositionCancelled
}

// Composition is a new rendering of a recording's raw tracks.
type Composition struct {
	ID          string           `json:"id"`
	RecordingID string           `json:"recording_id"`
	State       CompositionState `json:"state"`
	Progress    float64          `json:"progress"` // percent, 0..100
	DoneS       float64          `json:"done_s"`   // media time rendered
	TotalS      float64          `json:"total_s"`
	Layout      json.RawMessage  `json:"layout"`
	Width       int              `json:"width"`
	Height      int              `json:"height"`
	FPS         int              `json:"fps"`
	FromS       float64          `json:"from_s"`
	ToS         float64          `json:"to_s,omitempty"`
	Key         string           `json:"key,omitempty"` // object key once done
	Size        int64            `json:"size,omitempty"`
	Attempts    int              `json:"attempts"`
	Renders     int              `json:"renders"` // completed renders (1 once done)
	Cancelled   bool             `json:"cancelled,omitempty"`
	Error       string           `json:"error,omitempty"`
	CreatedAt   time.Time        `json:"created_at"`
	UpdatedAt   time.Time        `json:"updated_at"`
}

var compositionIDPattern = regexp.MustCompile(`^cmp_[0-9a-v]{16}$`)

// ValidCompositionID reports whether id looks like one NewCompositionID makes.
func ValidCompositionID(id string) bool { return compositionIDPattern.MatchString(id) }

// NewCompositionID returns a fresh composition ID: "cmp_" and 16 base32 digits.
func NewCompositionID() string {
	const digits = "0123456789abcdefghijklmnopqrstuv"
	var b [16]byte
	_, _ = rand.Read(b[:])
	for i := range b {
		b[i] = digits[b[i]&31]
	}
	return "cmp_" + string(b[:])
}

// CompositionStore keeps compositions in Redis (one JSON value each).
type CompositionStore struct {
	rdb    *redis.Client
	prefix string
	index  string // + recording ID: sorted set of its compositions by creation
}

// NewCompositionStore uses rdb with keys under prefix ("mosaic").
func NewCompositionStore(rdb *redis.Client, prefix string) *CompositionStore {
	return &CompositionStore{rdb: rdb, prefix: prefix + ":composition:", index: prefix + ":compositions:"}
}

// compositionTTL is how long a composition's record is kept.
const compositionTTL = 30 * 24 * time.Hour

func (s *CompositionStore) key(id string) string { return s.prefix + id }

// Create stores a new composition; an existing ID is an error.
func (s *CompositionStore) Create(ctx context.Context, c *Composition) error {
	now := time.Now().UTC()
	c.CreatedAt, c.UpdatedAt = now, now
	b, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("composition: %w", err)
	}
	ok, err := s.rdb.SetNX(ctx, s.key(c.ID), b, compositionTTL).Result()
	if err != nil {
		return fmt.Errorf("composition %s: %w", c.ID, err)
	}
	if !ok {
		return fmt.Errorf("composition %s: %w", c.ID, ErrCompositionExists)
	}
	idx := s.index + c.RecordingID
	if _, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.ZAdd(ctx, idx, redis.Z{Score: float64(now.UnixNano()), Member: c.ID})
		p.Expire(ctx, idx, compositionTTL)
		return nil
	}); err != nil {
		return fmt.Errorf("composition %s: index: %w", c.ID, err)
	}
	return nil
}

// maxListed bounds List.
const maxListed = 100

// List returns a recording's compositions, newest first (at most 100);
// those whose record has expired are left out.
func (s *CompositionStore) List(ctx context.Context, recordingID string) ([]*Composition, error) {
	ids, err := s.rdb.ZRevRange(ctx, s.index+recordingID, 0, maxListed-1).Result()
	if err != nil {
		return nil, fmt.Errorf("compositions of %s: %w", recordingID, err)
	}
	out := []*Composition{}
	if len(ids) == 0 {
		return out, nil
	}
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = s.key(id)
	}
	vals, err := s.rdb.MGet(ctx, keys...).Result()
	if err != nil {
		return nil, fmt.Errorf("compositions of %s: %w", recordingID, err)
	}
	for i, v := range vals {
		str, ok := v.(string)
		if !ok {
			continue
		}
		var c Composition
		if err := json.Unmarshal([]byte(str), &c); err != nil {
			return nil, fmt.Errorf("composition %s: %w", ids[i], err)
		}
		out = append(out, &c)
	}
	return out, nil
}

// Get reads a composition (ErrCompositionNotFound if there is none).
func (s *CompositionStore) Get(ctx context.Context, id string) (*Composition, error) {
	b, err := s.rdb.Get(ctx, s.key(id)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("composition %s: %w", id, ErrCompositionNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("composition %s: %w", id, err)
	}
	var c Composition
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("composition %s: %w", id, err)
	}
	return &c, nil
}

// Update changes a composition atomically (optimistic, retried on conflict).
func (s *CompositionStore) Update(ctx context.Context, id string, fn func(*Composition) error) (*Composition, error) {
	var out *Composition
	key := s.key(id)
	for range 20 {
		err := s.rdb.Watch(ctx, func(tx *redis.Tx) error {
			b, err := tx.Get(ctx, key).Bytes()
			if errors.Is(err, redis.Nil) {
				return fmt.Errorf("composition %s: %w", id, ErrCompositionNotFound)
			}
			if err != nil {
				return err
			}
			var c Composition
			if err := json.Unmarshal(b, &c); err != nil {
				return fmt.Errorf("composition %s: %w", id, err)
			}
			if err := fn(&c); err != nil {
				return err
			}
			c.UpdatedAt = time.Now().UTC()
			nb, err := json.Marshal(&c)
			if err != nil {
				return err
			}
			_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
				p.Set(ctx, key, nb, compositionTTL)
				return nil
			})
			out = &c
			return err
		}, key)
		if errors.Is(err, redis.TxFailedErr) {
			continue
		}
		if err != nil {
			return nil, err
		}
		return out, nil
	}
	return nil, fmt.Errorf("composition %s: too many concurrent updates", id)
}
