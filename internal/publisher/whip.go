package publisher

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// maxAnswerBytes caps the response body read from the server.
const maxAnswerBytes = 1 << 20

// session is a WHIP/WHEP resource created by a POST.
type session struct {
	client   *http.Client
	token    string
	location string // absolute URL of the session resource
}

// postOffer sends the SDP offer and returns the answer and the session.
// Non-201 responses become *HTTPError.
func postOffer(ctx context.Context, client *http.Client, endpoint, token, offer string) (string, *session, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(offer))
	if err != nil {
		return "", nil, fmt.Errorf("%w: %w", ErrBadOptions, err)
	}
	req.Header.Set("Content-Type", "application/sdp")
	req.Header.Set("Accept", "application/sdp")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", nil, fmt.Errorf("post offer: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes))
	if err != nil {
		return "", nil, fmt.Errorf("read answer: %w", err)
	}
	if resp.StatusCode != http.StatusCreated {
		return "", nil, responseError(resp.StatusCode, body)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/sdp") {
		return "", nil, fmt.Errorf("%w: content type %q", ErrBadAnswer, ct)
	}
	loc := resp.Header.Get("Location")
	if loc == "" {
		return "", nil, fmt.Errorf("%w: no Location header", ErrBadAnswer)
	}
	base, err := answerURL(resp, endpoint)
	if err != nil {
		return "", nil, err
	}
	ref, err := url.Parse(loc)
	if err != nil {
		return "", nil, fmt.Errorf("%w: Location %q: %w", ErrBadAnswer, loc, err)
	}
	s := &session{client: client, token: token, location: base.ResolveReference(ref).String()}
	return string(body), s, nil
}

// responseError builds an *HTTPError from a JSON {"error": "…"} body or plain text.
func responseError(status int, body []byte) error {
	var js struct {
		Error string `json:"error"`
	}
	msg := strings.TrimSpace(string(body))
	if json.Unmarshal(body, &js) == nil && js.Error != "" {
		msg = js.Error
	}
	if len(msg) > 512 {
		msg = msg[:512]
	}
	return &HTTPError{Status: status, Message: msg}
}

// delete ends the session on the server. It runs even when ctx is already
// cancelled (the caller is leaving), bounded by its own timeout.
func (s *session) delete(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodDelete, s.location, nil)
	if err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	if s.token != "" {
		req.Header.Set("Authorization", "Bearer "+s.token)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("delete session: %w", responseError(resp.StatusCode, body))
	}
	return nil
}
