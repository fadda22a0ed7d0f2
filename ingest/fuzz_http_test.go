package ingest

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/mosaic-rtc/mosaic/internal/auth"
)

// errorBody checks that a refusal carries the JSON error body.
func errorBody(t *testing.T, rec *httptest.ResponseRecorder) {
	t.Helper()
	var e struct {
		Error string `json:"error"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Error == "" {
		t.Fatalf("status %d with body %q", rec.Code, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Fatalf("status %d with content type %q", rec.Code, ct)
	}
}

// FuzzTricklePatch sends arbitrary trickle-ice-sdpfrag bodies to a
// publisher session: every answer is 204 (candidates taken), 200 (ICE
// restart, with a fragment), or a JSON 400/412/413/422, nothing panics, and
// the session stays.
func FuzzTricklePatch(f *testing.F) {
	h := newHarness(f)
	mux := http.NewServeMux()
	h.srv.Routes(mux)
	token := h.token(f, "fuzz", auth.RolePublish)
	offer := clientOffer(f)
	// session is the publisher session under test; a new one replaces it
	// when it ended (it never connects, and an ICE restart may break it).
	loc := ""
	session := func(t testing.TB) string {
		if loc != "" {
			for _, st := range h.srv.Sessions() {
				if strings.HasSuffix(loc, "/"+st.ID) {
					return loc
				}
			}
		}
		req := httptest.NewRequest(http.MethodPost, "/rooms/fuzz/whip", strings.NewReader(offer))
		req.Header.Set("Content-Type", "application/sdp")
		req.Header.Set("Authorization", "Bearer "+token)
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		if rec.Code != http.StatusCreated {
			t.Fatalf("publish: %d %s", rec.Code, rec.Body)
		}
		loc = rec.Header().Get("Location")
		return loc
	}

	f.Add([]byte("a=candidate:1 1 udp 2130706431 127.0.0.1 50000 typ host\r\n"), false)
	f.Add([]byte("a=candidate:1 1 udp 2130706431 127.0.0.1 50000 typ host\r\na=end-of-candidates\r\n"), true)
	f.Add([]byte("a=ice-ufrag:fuzz\r\na=ice-pwd:fuzzfuzzfuzzfuzzfuzzfuzz\r\nm=audio 9 RTP/AVP 0\r\na=mid:0\r\n"+
		"a=candidate:1 1 udp 2130706431 127.0.0.1 50001 typ host\r\n"), false)
	f.Add([]byte("a=ice-ufrag:only\r\n"), false)
	f.Add([]byte("a=candidate:\r\n"), false)
	f.Add([]byte("a=candidate:x y z\r\n"), false)
	f.Add([]byte("not sdp"), false)
	f.Add([]byte(""), true)
	f.Add([]byte("a=candidate:1 1 tcp 1 ::1 9 typ host tcptype active\r\nb=AS:1\r\nx\r\n"), false)
	f.Fuzz(func(t *testing.T, body []byte, ifMatch bool) {
		loc := session(t)
		req := httptest.NewRequest(http.MethodPatch, loc, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/trickle-ice-sdpfrag")
		if ifMatch {
			req.Header.Set("If-Match", `"stale"`)
		}
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		switch rec.Code {
		case http.StatusNoContent:
		case http.StatusOK:
			if !strings.Contains(rec.Body.String(), "a=ice-ufrag:") {
				t.Fatalf("ICE restart answer without credentials: %q", rec.Body)
			}
		case http.StatusBadRequest, http.StatusPreconditionFailed, http.StatusRequestEntityTooLarge,
			http.StatusUnprocessableEntity:
			errorBody(t, rec)
		default:
			t.Fatalf("status %d for fragment %q: %s", rec.Code, body, rec.Body)
		}
		if ifMatch && rec.Code != http.StatusPreconditionFailed && rec.Code != http.StatusBadRequest &&
			rec.Code != http.StatusRequestEntityTooLarge {
			t.Fatalf("stale If-Match answered %d", rec.Code)
		}
		if session(t) != loc {
			t.Fatalf("the PATCH ended the session")
		}
	})
}

// FuzzAuthorizationHeader posts a valid offer with arbitrary Authorization
// headers: only the issued token opens the room; anything else is a JSON
// 401 or 403 and creates no session.
func FuzzAuthorizationHeader(f *testing.F) {
	h := newHarness(f)
	mux := http.NewServeMux()
	h.srv.Routes(mux)
	good := h.token(f, "fuzz", auth.RolePublish)
	offer := clientOffer(f)
	other, _ := auth.NewIssuer([]byte("another-secret-of-32-bytes------"))
	forged, _ := other.Mint("fuzz", "mallory", auth.RolePublish, time.Hour)
	view := h.token(f, "fuzz", auth.RoleView)
	otherRoom := h.token(f, "elsewhere", auth.RolePublish)
	parts := strings.Split(good, ".")

	f.Add("Bearer " + good)
	f.Add("bearer " + good)
	f.Add("Bearer " + forged)
	f.Add("Bearer " + view)
	f.Add("Bearer " + otherRoom)
	f.Add("Bearer " + parts[0] + "." + parts[1] + ".")
	f.Add("Bearer " + `eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.` + parts[1] + ".")
	f.Add("Basic YWxpY2U6c2VjcmV0")
	f.Add("Bearer")
	f.Add("Bearer  ")
	f.Add("Bearer a.b.c")
	f.Add("Bearer ....")
	f.Add("")
	f.Fuzz(func(t *testing.T, header string) {
		if strings.ContainsAny(header, "\r\n\x00") {
			return // not a header value an HTTP client can send
		}
		req := httptest.NewRequest(http.MethodPost, "/rooms/fuzz/whip", strings.NewReader(offer))
		req.Header.Set("Content-Type", "application/sdp")
		req.Header.Set("Authorization", header)
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		switch rec.Code {
		case http.StatusCreated:
			if tok := auth.BearerToken(header); tok != good {
				t.Fatalf("header %q (token %q) opened the room", header, tok)
			}
			del := httptest.NewRecorder()
			mux.ServeHTTP(del, httptest.NewRequest(http.MethodDelete, rec.Header().Get("Location"), nil))
			if del.Code != http.StatusOK {
				t.Fatalf("DELETE: %d %s", del.Code, del.Body)
			}
		case http.StatusUnauthorized, http.StatusForbidden:
			errorBody(t, rec)
			if rec.Code == http.StatusUnauthorized && rec.Header().Get("WWW-Authenticate") == "" {
				t.Fatal("401 without WWW-Authenticate")
			}
		default:
			t.Fatalf("status %d for header %q: %s", rec.Code, header, rec.Body)
		}
		if n := len(h.srv.Sessions()); n != 0 {
			t.Fatalf("%d sessions left", n)
		}
	})
}
