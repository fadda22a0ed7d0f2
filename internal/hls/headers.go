package hls

import (
	"encoding/json"
	"net/http"
	"strings"
)

// cacheWriter sets the caching policy as the muxer answers: playlists are
// never cached (they change every part), the init file, segments and parts
// are immutable (their names are unique per muxer). It also notes whether
// the muxer answered at all, so that unknown names become 404.
type cacheWriter struct {
	http.ResponseWriter
	wrote  bool
	status int
}

func (c *cacheWriter) WriteHeader(status int) {
	c.wrote, c.status = true, status
	h := c.Header()
	if status == http.StatusOK || status == http.StatusPartialContent {
		switch ct := h.Get("Content-Type"); {
		case strings.Contains(ct, "mpegurl"):
			h.Set("Cache-Control", "no-cache")
		case strings.HasPrefix(ct, "video/") || strings.HasPrefix(ct, "audio/"):
			h.Set("Cache-Control", "public, max-age=3600, immutable")
		}
	}
	c.ResponseWriter.WriteHeader(status)
}

func (c *cacheWriter) Write(b []byte) (int, error) {
	if !c.wrote {
		c.WriteHeader(http.StatusOK)
	}
	return c.ResponseWriter.Write(b)
}

func (c *cacheWriter) Flush() {
	if f, ok := c.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func writeError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
}
