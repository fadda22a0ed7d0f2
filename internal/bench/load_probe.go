package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/mosaic-rtc/mosaic/internal/publisher"
)

// probe asks for one more new room at full load with a short publisher and
// reports what admission control answered.
func probe(ctx context.Context, cfg LoadConfig) string {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	room := cfg.Prefix + "-probe"
	client := &http.Client{Timeout: 10 * time.Second}
	_, err := publisher.Publish(ctx, publisher.Options{URL: cfg.Server + "/rooms/" + room + "/whip", Token: cfg.Token,
		File: cfg.Clip, Duration: time.Second, Log: cfg.Log})
	var he *publisher.HTTPError
	switch {
	case err == nil:
		return fmt.Sprintf("accepted (room %s published for 1 s on %s)", room, servedBy(ctx, cfg, room))
	case errors.As(err, &he) && he.Status == http.StatusServiceUnavailable:
		// Ask again by hand for the Retry-After the publisher does not keep.
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, cfg.Server+"/rooms/"+room+"/whip", nil)
		req.Header.Set("Authorization", "Bearer "+cfg.Token)
		req.Header.Set("Content-Type", "application/sdp")
		retry := "?"
		if res, rerr := client.Do(req); rerr == nil {
			retry = res.Header.Get("Retry-After")
			res.Body.Close()
		}
		return fmt.Sprintf("refused 503, Retry-After %s s: %s", retry, he.Message)
	default:
		return "failed: " + err.Error()
	}
}

// nodes reads the cluster's nodes from the node API.
func nodes(ctx context.Context, cfg LoadConfig) ([]NodeLoad, error) {
	var out struct {
		Nodes []NodeLoad `json:"nodes"`
	}
	res, err := apiGet(ctx, cfg, "/api/nodes")
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /api/nodes: %s", res.Status)
	}
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
		return nil, fmt.Errorf("GET /api/nodes: %w", err)
	}
	return out.Nodes, nil
}

// servedBy is the host:port of the node that answers for room.
func servedBy(ctx context.Context, cfg LoadConfig, room string) string {
	res, err := apiGet(ctx, cfg, "/api/rooms/"+room)
	if err != nil {
		return ""
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return ""
	}
	return res.Request.URL.Host
}

func apiGet(ctx context.Context, cfg LoadConfig, path string) (*http.Response, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, cfg.Server+path, nil)
	if err != nil {
		cancel()
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+cfg.Token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		return nil, err
	}
	res.Body = cancelBody{res.Body, cancel}
	return res, nil
}

// cancelBody ends a request's context when its body is closed.
type cancelBody struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b cancelBody) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}
