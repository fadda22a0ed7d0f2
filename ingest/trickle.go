package ingest

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/mosaic-rtc/mosaic/internal/auth"
	"github.com/pion/webrtc/v4"
)

// sdpFrag is the content of an application/trickle-ice-sdpfrag body
// (RFC 8840) as far as the server uses it.
type sdpFrag struct {
	ufrag, pwd string
	candidates []string // "candidate:…" values
	end        bool     // a=end-of-candidates
}

// parseSDPFrag reads the lines of a fragment; unknown lines are ignored.
func parseSDPFrag(body []byte) (sdpFrag, error) {
	var f sdpFrag
	for i, line := range strings.Split(string(body), "\n") {
		line = strings.TrimRight(line, "\r")
		if line == "" {
			continue
		}
		if len(line) < 2 || line[1] != '=' {
			return f, fmt.Errorf("%w: line %d is not an SDP line: %q", ErrMalformedFrag, i+1, truncate(line, 60))
		}
		if line[0] != 'a' {
			continue
		}
		key, val, _ := strings.Cut(line[2:], ":")
		switch key {
		case "ice-ufrag":
			f.ufrag = val
		case "ice-pwd":
			f.pwd = val
		case "candidate":
			if val == "" {
				return f, fmt.Errorf("%w: empty candidate on line %d", ErrMalformedFrag, i+1)
			}
			f.candidates = append(f.candidates, "candidate:"+val)
		case "end-of-candidates":
			f.end = true
		}
	}
	if (f.ufrag == "") != (f.pwd == "") {
		return f, fmt.Errorf("%w: ice-ufrag and ice-pwd must come together", ErrMalformedFrag)
	}
	return f, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// handlePatch adds trickled candidates to a session, or restarts ICE when
// the fragment carries new credentials (RFC 9725 section 4.3).
func (s *Server) handlePatch(kind string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		setCORS(w)
		ss, err := s.lookup(r.PathValue("room"), kind, r.PathValue("session"))
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		if err := s.authorizeSession(r, ss); err != nil {
			s.writeError(w, r, err)
			return
		}
		body, err := s.readBody(w, r, contentTypeSDPFrag)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		frag, err := parseSDPFrag(body)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		ss.mu.Lock()
		defer ss.mu.Unlock()
		if m := r.Header.Get("If-Match"); m != "" && m != "*" && m != ss.etag {
			s.writeError(w, r, statusError(http.StatusPreconditionFailed,
				"If-Match %s does not match the session's ETag", m))
			return
		}
		if frag.ufrag != "" && frag.ufrag != ss.remoteUfrag {
			answerFrag, err := ss.restartICE(r.Context(), frag)
			if err != nil {
				s.writeError(w, r, err)
				return
			}
			w.Header().Set("Content-Type", contentTypeSDPFrag)
			w.Header().Set("ETag", ss.etag)
			w.WriteHeader(http.StatusOK)
			_, _ = io.WriteString(w, answerFrag)
			return
		}
		for _, c := range frag.candidates {
			if err := ss.pc.AddICECandidate(webrtc.ICECandidateInit{Candidate: c}); err != nil {
				s.writeError(w, r, fmt.Errorf("%w: candidate %q: %v", ErrMalformedFrag, truncate(c, 80), err))
				return
			}
		}
		if frag.end {
			_ = ss.pc.AddICECandidate(webrtc.ICECandidateInit{Candidate: ""})
		}
		w.WriteHeader(http.StatusNoContent)
	}
}

// authorizeSession accepts a PATCH or DELETE that carries no token (the
// unguessable session id in the URL is the capability) or one valid for the
// session's room and kind.
func (s *Server) authorizeSession(r *http.Request, ss *session) error {
	if r.Header.Get("Authorization") == "" {
		return nil
	}
	role := auth.RolePublish
	if ss.kind == KindViewer {
		role = auth.RoleView
	}
	_, err := s.authorize(r, ss.room, role)
	return err
}

// restartICE applies the current offer again with the new credentials and
// returns the fragment of the new local credentials and candidates. The
// caller holds ss.mu.
func (ss *session) restartICE(ctx context.Context, frag sdpFrag) (string, error) {
	rd := ss.pc.RemoteDescription()
	if rd == nil {
		return "", fmt.Errorf("%w: no remote description", ErrICERestart)
	}
	offer := replaceICECredentials(rd.SDP, frag.ufrag, frag.pwd)
	if err := ss.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		return "", fmt.Errorf("%w: %v", ErrICERestart, err)
	}
	if _, err := answer(ctx, ss.pc); err != nil {
		return "", fmt.Errorf("%w: %v", ErrICERestart, err)
	}
	for _, c := range frag.candidates {
		_ = ss.pc.AddICECandidate(webrtc.ICECandidateInit{Candidate: c})
	}
	ss.remoteUfrag = frag.ufrag
	ss.etag = newETag()
	return localFrag(ss.pc)
}

// replaceICECredentials swaps every ice-ufrag/ice-pwd of an SDP and drops
// the old candidates.
func replaceICECredentials(sdpText, ufrag, pwd string) string {
	var b strings.Builder
	for _, line := range strings.SplitAfter(sdpText, "\n") {
		t := strings.TrimRight(line, "\r\n")
		switch {
		case strings.HasPrefix(t, "a=ice-ufrag:"):
			b.WriteString("a=ice-ufrag:" + ufrag + "\r\n")
		case strings.HasPrefix(t, "a=ice-pwd:"):
			b.WriteString("a=ice-pwd:" + pwd + "\r\n")
		case strings.HasPrefix(t, "a=candidate:"), t == "a=end-of-candidates":
		default:
			b.WriteString(line)
		}
	}
	return b.String()
}

// localFrag renders the local ICE credentials and candidates as an sdpfrag.
func localFrag(pc *webrtc.PeerConnection) (string, error) {
	ld := pc.LocalDescription()
	if ld == nil {
		return "", fmt.Errorf("%w: no local description", ErrICERestart)
	}
	parsed, err := parseSDP(ld.SDP)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrICERestart, err)
	}
	var b strings.Builder
	if u, ok := parsed.Attribute("ice-ufrag"); ok {
		fmt.Fprintf(&b, "a=ice-ufrag:%s\r\n", u)
	}
	if p, ok := parsed.Attribute("ice-pwd"); ok {
		fmt.Fprintf(&b, "a=ice-pwd:%s\r\n", p)
	}
	if len(parsed.MediaDescriptions) > 0 {
		md := parsed.MediaDescriptions[0]
		if b.Len() == 0 {
			if u, ok := md.Attribute("ice-ufrag"); ok {
				fmt.Fprintf(&b, "a=ice-ufrag:%s\r\n", u)
			}
			if p, ok := md.Attribute("ice-pwd"); ok {
				fmt.Fprintf(&b, "a=ice-pwd:%s\r\n", p)
			}
		}
		fmt.Fprintf(&b, "m=%s %d %s %s\r\n", md.MediaName.Media, md.MediaName.Port.Value,
			strings.Join(md.MediaName.Protos, "/"), strings.Join(md.MediaName.Formats, " "))
		if mid, ok := md.Attribute("mid"); ok {
			fmt.Fprintf(&b, "a=mid:%s\r\n", mid)
		}
		for _, a := range md.Attributes {
			if a.Key == "candidate" {
				fmt.Fprintf(&b, "a=candidate:%s\r\n", a.Value)
			}
		}
		b.WriteString("a=end-of-candidates\r\n")
	}
	return b.String(), nil
}
