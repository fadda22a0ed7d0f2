package publisher

import (
	"fmt"
	"net/http"
	"net/url"
)

// answerURL is the URL that answered an offer: after a 307 from a node that
// does not serve the room, the node the client was sent to, against which
// the session's Location resolves.
func answerURL(resp *http.Response, endpoint string) (*url.URL, error) {
	if resp.Request != nil && resp.Request.URL != nil {
		return resp.Request.URL, nil
	}
	u, err := url.Parse(endpoint)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadOptions, err)
	}
	return u, nil
}
