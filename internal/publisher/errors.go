package publisher

import (
	"errors"
	"fmt"
)

var (
	// ErrNoSource is returned when Options has neither File nor TestPattern (or both).
	ErrNoSource = errors.New("publisher: exactly one of File or TestPattern is required")
	// ErrBadOptions is returned for an invalid option value.
	ErrBadOptions = errors.New("publisher: invalid options")
	// ErrBadWebM is returned when the file is not a WebM this publisher can send.
	ErrBadWebM = errors.New("publisher: unsupported or malformed WebM")
	// ErrBadAnswer is returned when the server's response is not a usable SDP answer.
	ErrBadAnswer = errors.New("publisher: bad response from server")
	// ErrTrackRefused is returned when the answer rejects a track we send
	// (typically: no codec in common).
	ErrTrackRefused = errors.New("publisher: the server refused the track")
	// ErrConnectTimeout is returned when ICE/DTLS does not connect in time.
	ErrConnectTimeout = errors.New("publisher: connection not established in time")
	// ErrConnectionFailed is returned when the peer connection fails or closes.
	ErrConnectionFailed = errors.New("publisher: peer connection failed")
)

// HTTPError is a non-success response of the WHIP/WHEP endpoint.
type HTTPError struct {
	Status  int    // HTTP status code
	Message string // the server's JSON "error" field, or the body text
}

func (e *HTTPError) Error() string {
	if e.Message == "" {
		return fmt.Sprintf("server answered %d", e.Status)
	}
	return fmt.Sprintf("server answered %d: %s", e.Status, e.Message)
}
