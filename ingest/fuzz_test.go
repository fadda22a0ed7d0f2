package ingest

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/mosaic-rtc/mosaic/internal/auth"
)

// FuzzWHIPOffer posts arbitrary bodies as WHIP offers: the handler answers
// 201 or a JSON 400/413, never panics, and leaves no session behind.
func FuzzWHIPOffer(f *testing.F) {
	h := newHarness(f)
	mux := http.NewServeMux()
	h.srv.Routes(mux)
	token := h.token(f, "fuzz", auth.RolePublish)
	f.Add([]byte(clientOffer(f)))
	f.Add([]byte(handOffer("video sendonly 45:AV1/90000", "audio sendonly 111:opus/48000/2")))
	f.Add([]byte(handOffer("audio sendrecv 0 8 9")))
	f.Add([]byte("v=0\r\n"))
	f.Fuzz(func(t *testing.T, body []byte) {
		req := httptest.NewRequest(http.MethodPost, "/rooms/fuzz/whip", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/sdp")
		req.Header.Set("Authorization", "Bearer "+token)
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		switch rec.Code {
		case http.StatusCreated:
			loc := rec.Header().Get("Location")
			del := httptest.NewRecorder()
			mux.ServeHTTP(del, httptest.NewRequest(http.MethodDelete, loc, nil))
			if del.Code != http.StatusOK {
				t.Fatalf("DELETE %s: %d %s", loc, del.Code, del.Body)
			}
		case http.StatusBadRequest, http.StatusRequestEntityTooLarge:
			var e struct {
				Error string `json:"error"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Error == "" {
				t.Fatalf("status %d with body %q", rec.Code, rec.Body)
			}
		default:
			t.Fatalf("status %d for offer %q: %s", rec.Code, body, rec.Body)
		}
		if n := len(h.srv.Sessions()); n != 0 {
			t.Fatalf("%d sessions left", n)
		}
	})
}
