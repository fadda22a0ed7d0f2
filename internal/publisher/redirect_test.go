package publisher

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// An offer sent to a node that does not serve the room is redirected (307)
// with its body and token, and the session's relative Location resolves
// against the node that answered.
func TestOfferFollowsRedirect(t *testing.T) {
	var gotBody, gotAuth string
	owner := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		gotBody, gotAuth = string(b), r.Header.Get("Authorization")
		w.Header().Set("Content-Type", "application/sdp")
		w.Header().Set("Location", "/rooms/r/whip/s1")
		w.WriteHeader(http.StatusCreated)
		_, _ = io.WriteString(w, "answer")
	}))
	defer owner.Close()
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Location", owner.URL+r.URL.RequestURI())
		w.WriteHeader(http.StatusTemporaryRedirect)
	}))
	defer other.Close()

	answer, sess, err := postOffer(context.Background(), http.DefaultClient, other.URL+"/rooms/r/whip", "tok", "offer")
	if err != nil {
		t.Fatal(err)
	}
	if answer != "answer" || gotBody != "offer" || gotAuth != "Bearer tok" {
		t.Fatalf("answer %q; the owner got body %q, auth %q", answer, gotBody, gotAuth)
	}
	if want := owner.URL + "/rooms/r/whip/s1"; sess.location != want {
		t.Fatalf("session at %q, want %q", sess.location, want)
	}
}
