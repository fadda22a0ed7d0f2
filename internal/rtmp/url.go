package rtmp

import (
	"fmt"
	"net/url"
	"strings"
)

// checkURL accepts rtmp:// and rtmps:// URLs with a host and an
// application/stream-key path.
func checkURL(raw string) error {
	if len(raw) > 2048 {
		return fmt.Errorf("%w: longer than 2048 bytes", ErrBadURL)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrBadURL, err)
	}
	if u.Scheme != "rtmp" && u.Scheme != "rtmps" {
		return fmt.Errorf("%w: scheme %q (want rtmp or rtmps)", ErrBadURL, u.Scheme)
	}
	if u.Hostname() == "" {
		return fmt.Errorf("%w: no host", ErrBadURL)
	}
	parts := strings.Split(strings.Trim(u.Path, "/"), "/")
	if len(parts) < 2 || parts[0] == "" || parts[len(parts)-1] == "" {
		return fmt.Errorf("%w: path %q needs /application/stream-key", ErrBadURL, u.Path)
	}
	if strings.ContainsAny(raw, " \t\r\n") {
		return fmt.Errorf("%w: contains white space", ErrBadURL)
	}
	return nil
}

// maskURL hides the stream key (the last path element) and any password:
// the API shows where an output goes, not how to hijack it.
func maskURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	u.User = nil
	u.RawQuery = ""
	if i := strings.LastIndex(u.Path, "/"); i >= 0 && i < len(u.Path)-1 {
		key := u.Path[i+1:]
		keep := min(2, len(key))
		u.Path = u.Path[:i+1] + key[:keep] + strings.Repeat("*", 4)
	}
	s := u.String()
	return strings.ReplaceAll(s, "%2A", "*")
}
