package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

var (
	hlsMapRe  = regexp.MustCompile(`#EXT-X-MAP:URI="([^"]+)"`)
	hlsPartRe = regexp.MustCompile(`^#EXT-X-PART:.*URI="([^"]+)"`)
)

// openParts is the URIs of the parts of the segment in progress: the
// EXT-X-PART lines after the last complete segment.
func openParts(pl string) []string {
	var parts []string
	for _, line := range strings.Split(pl, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, "#EXTINF:"):
			parts = nil // what came before belongs to a complete segment
		case hlsPartRe.MatchString(line):
			parts = append(parts, hlsPartRe.FindStringSubmatch(line)[1])
		}
	}
	return parts
}

// hlsGlassToPart follows the video playlist; each time a new part appears
// it decodes the segment so far (init + its parts) and reads the stamp of
// the part's last frame: the delay from the picture's send time until a
// player could have fetched it.
func hlsGlassToPart(ctx context.Context, playlist string, epoch time.Time) ([]time.Duration, error) {
	client := &http.Client{Timeout: 10 * time.Second}
	base := playlist[:strings.LastIndex(playlist, "/")+1]
	query := ""
	if i := strings.Index(playlist, "?"); i >= 0 {
		query = playlist[i:]
	}
	fetch := func(u string) ([]byte, error) {
		if !strings.HasPrefix(u, "http") {
			u = base + u
		}
		if !strings.Contains(u, "?") {
			u += query
		}
		req, err := http.NewRequestWithContext(ctx, "GET", u, nil)
		if err != nil {
			return nil, err
		}
		res, err := client.Do(req)
		if err != nil {
			return nil, err
		}
		defer res.Body.Close()
		if res.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("GET %s: %s", u, res.Status)
		}
		return io.ReadAll(res.Body)
	}
	dir, err := os.MkdirTemp("", "mosaic-hls-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	var out []time.Duration
	var init []byte
	cache := map[string][]byte{}
	last := ""
	for ctx.Err() == nil {
		b, err := fetch(playlist)
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			return out, err
		}
		seen := time.Now()
		pl := string(b)
		parts := openParts(pl)
		if len(parts) == 0 || parts[len(parts)-1] == last {
			time.Sleep(20 * time.Millisecond)
			continue
		}
		last = parts[len(parts)-1]
		if init == nil {
			m := hlsMapRe.FindStringSubmatch(pl)
			if m == nil {
				return out, fmt.Errorf("playlist without EXT-X-MAP")
			}
			if init, err = fetch(m[1]); err != nil {
				return out, err
			}
		}
		buf := bytes.NewBuffer(append([]byte(nil), init...))
		ok := true
		for _, p := range parts {
			data, have := cache[p]
			if !have {
				if data, err = fetch(p); err != nil {
					ok = false
					break
				}
				cache[p] = data
			}
			buf.Write(data)
		}
		if !ok {
			continue
		}
		path := filepath.Join(dir, "part.mp4")
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			return out, err
		}
		frame, err := lastFrame(ctx, path)
		if err != nil {
			continue
		}
		at := stampCode(seen.Sub(epoch))
		if code, ok := readStamp(frame, readW, readH); ok && stampAge(at, code) < 30*time.Second {
			age := stampAge(at, code)
			out = append(out, age)
		}
		if len(cache) > 64 {
			cache = map[string][]byte{}
		}
	}
	return out, nil
}

// lastFrame decodes a file with ffmpeg into GRAY8 readW×readH frames and
// returns the last one.
func lastFrame(ctx context.Context, path string) ([]byte, error) {
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(cctx, "ffmpeg", "-v", "error", "-i", path, "-an",
		"-vf", fmt.Sprintf("scale=%d:%d,format=gray", readW, readH), "-f", "rawvideo", "-").Output()
	if err != nil {
		return nil, fmt.Errorf("ffmpeg: %w", err)
	}
	n := readW * readH
	if len(out) < n {
		return nil, fmt.Errorf("no frame decoded")
	}
	return out[len(out)/n*n-n : len(out)/n*n], nil
}

// videoPlaylist finds the video media playlist in a multivariant one.
func videoPlaylist(ctx context.Context, index string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", index, nil)
	if err != nil {
		return "", err
	}
	res, err := (&http.Client{Timeout: 20 * time.Second}).Do(req)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	for _, line := range strings.Split(string(b), "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			return index[:strings.LastIndex(index, "/")+1] + line, nil
		}
	}
	return "", io.ErrUnexpectedEOF
}
