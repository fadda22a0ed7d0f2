package catalog

import "errors"

var (
	// ErrNotFound is returned when no recording has the given ID.
	ErrNotFound = errors.New("catalog: recording not found")
	// ErrExists is returned by Create for an ID already in use.
	ErrExists = errors.New("catalog: recording already exists")
	// ErrBadID is returned for IDs that ValidID rejects.
	ErrBadID = errors.New("catalog: invalid recording id")
	// ErrInvalid is returned for recordings with missing or malformed fields.
	ErrInvalid = errors.New("catalog: invalid recording")
	// ErrConflict is returned by Update when concurrent writers kept
	// changing the recording through every retry.
	ErrConflict = errors.New("catalog: too many concurrent updates")
)
