package catalog

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/redis/go-redis/v9"
)

const maxUpdateAttempts = 50

// Store keeps recordings in Redis: each one as JSON under
// {prefix}rec:{id}, indexed by start time in {prefix}rooms:{room} and
// {prefix}all.
type Store struct {
	rdb    *redis.Client
	prefix string
}

// New returns a store using keys that start with prefix (e.g. "mosaic";
// a ":" separator is added when missing).
func New(rdb *redis.Client, prefix string) *Store {
	if prefix != "" && !strings.HasSuffix(prefix, ":") {
		prefix += ":"
	}
	return &Store{rdb: rdb, prefix: prefix}
}

func (s *Store) recKey(id string) string    { return s.prefix + "rec:" + id }
func (s *Store) roomKey(room string) string { return s.prefix + "rooms:" + room }
func (s *Store) allKey() string             { return s.prefix + "all" }

func score(r *Recording) float64 { return float64(r.StartedAt.UnixMilli()) }

// Create stores a new recording; ErrExists if the ID is taken.
func (s *Store) Create(ctx context.Context, r *Recording) error {
	if err := r.validate(); err != nil {
		return err
	}
	data, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("catalog: encode %s: %w", r.ID, err)
	}
	ok, err := s.rdb.SetNX(ctx, s.recKey(r.ID), data, 0).Result()
	if err != nil {
		return fmt.Errorf("catalog: create %s: %w", r.ID, err)
	}
	if !ok {
		return fmt.Errorf("%w: %s", ErrExists, r.ID)
	}
	_, err = s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.ZAdd(ctx, s.roomKey(r.Room), redis.Z{Score: score(r), Member: r.ID})
		p.ZAdd(ctx, s.allKey(), redis.Z{Score: score(r), Member: r.ID})
		return nil
	})
	if err != nil {
		return fmt.Errorf("catalog: index %s: %w", r.ID, err)
	}
	return nil
}

// Get returns the recording; ErrNotFound if there is none.
func (s *Store) Get(ctx context.Context, id string) (*Recording, error) {
	if !ValidID(id) {
		return nil, fmt.Errorf("%w: %q", ErrBadID, id)
	}
	return s.get(ctx, s.rdb, id)
}

type getter interface {
	Get(ctx context.Context, key string) *redis.StringCmd
}

func (s *Store) get(ctx context.Context, g getter, id string) (*Recording, error) {
	data, err := g.Get(ctx, s.recKey(id)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	if err != nil {
		return nil, fmt.Errorf("catalog: get %s: %w", id, err)
	}
	var r Recording
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("catalog: decode %s: %w", id, err)
	}
	return &r, nil
}

// List returns recordings newest first, of one room or (room "") of all
// rooms, skipping offset and returning at most limit (1..1000, default 50).
func (s *Store) List(ctx context.Context, room string, offset, limit int) ([]*Recording, error) {
	if room != "" && !ValidRoom(room) {
		return nil, fmt.Errorf("%w: room %q", ErrInvalid, room)
	}
	if offset < 0 {
		return nil, fmt.Errorf("%w: offset %d", ErrInvalid, offset)
	}
	if limit <= 0 {
		limit = 50
	}
	limit = min(limit, 1000)
	key := s.allKey()
	if room != "" {
		key = s.roomKey(room)
	}
	ids, err := s.rdb.ZRevRange(ctx, key, int64(offset), int64(offset+limit-1)).Result()
	if err != nil {
		return nil, fmt.Errorf("catalog: list %q: %w", room, err)
	}
	out := make([]*Recording, 0, len(ids))
	for _, id := range ids {
		r, err := s.get(ctx, s.rdb, id)
		if errors.Is(err, ErrNotFound) {
			continue // deleted between the index read and now
		}
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// Update applies fn to the current recording and stores the result
// atomically: if another writer changed the recording meanwhile, fn runs
// again on the new value. An error from fn aborts the update and is
// returned as is. The stored recording is returned.
func (s *Store) Update(ctx context.Context, id string, fn func(*Recording) error) (*Recording, error) {
	if !ValidID(id) {
		return nil, fmt.Errorf("%w: %q", ErrBadID, id)
	}
	key := s.recKey(id)
	var out *Recording
	for range maxUpdateAttempts {
		err := s.rdb.Watch(ctx, func(tx *redis.Tx) error {
			r, err := s.get(ctx, tx, id)
			if err != nil {
				return err
			}
			if err := fn(r); err != nil {
				return err
			}
			if r.ID != id {
				return fmt.Errorf("%w: update changed the id of %s", ErrInvalid, id)
			}
			if err := r.validate(); err != nil {
				return err
			}
			data, err := json.Marshal(r)
			if err != nil {
				return fmt.Errorf("catalog: encode %s: %w", id, err)
			}
			_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
				p.Set(ctx, key, data, 0)
				return nil
			})
			if err == nil {
				out = r
			}
			return err
		}, key)
		if errors.Is(err, redis.TxFailedErr) {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			continue
		}
		if err != nil {
			return nil, err
		}
		return out, nil
	}
	return nil, fmt.Errorf("%w: %s", ErrConflict, id)
}

// Delete removes the recording; ErrNotFound if there is none.
func (s *Store) Delete(ctx context.Context, id string) error {
	r, err := s.Get(ctx, id)
	if err != nil {
		return err
	}
	_, err = s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Del(ctx, s.recKey(id))
		p.ZRem(ctx, s.roomKey(r.Room), id)
		p.ZRem(ctx, s.allKey(), id)
		return nil
	})
	if err != nil {
		return fmt.Errorf("catalog: delete %s: %w", id, err)
	}
	return nil
}
