package node

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/mosaic-rtc/mosaic/internal/auth"
	"github.com/mosaic-rtc/mosaic/internal/testenv"
)

// TestQueueUI: the asynq UI answers only admin tokens for every room; a
// ?token= handshake leaves a cookie the UI's own API calls carry, and the
// UI's API shows a queue with its tasks from the real Redis.
func TestQueueUI(t *testing.T) {
	opt, err := redis.ParseURL(testenv.Redis(t))
	if err != nil {
		t.Fatal(err)
	}
	cl := asynq.NewClient(asynq.RedisClientOpt{Addr: opt.Addr, DB: opt.DB})
	defer cl.Close()
	if _, err := cl.Enqueue(asynq.NewTask("test:queued", []byte(`{}`)), asynq.Queue("uploads:test")); err != nil {
		t.Fatal(err)
	}
	mux := testMuxRedis(t, opt)
	iss, _ := auth.NewIssuer([]byte("routes-test-secret-0123456789abcdef"))
	mint := func(room string, role auth.Role) string {
		tok, err := iss.Mint(room, "queue-test", role, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	admin := mint(auth.AnyRoom, auth.RoleAdmin)

	do := func(path, bearer string, cookie *http.Cookie) *httptest.ResponseRecorder {
		req := httptest.NewRequest("GET", path, nil)
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		if cookie != nil {
			req.AddCookie(cookie)
		}
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		return rec
	}
	for _, tc := range []struct {
		name, path, bearer string
		want               int
	}{
		{"no token", "/admin/queues/", "", http.StatusUnauthorized},
		{"garbage token", "/admin/queues/", "nope", http.StatusUnauthorized},
		{"view token", "/admin/queues/", mint(auth.AnyRoom, auth.RoleView), http.StatusForbidden},
		{"admin of one room", "/admin/queues/", mint("r1", auth.RoleAdmin), http.StatusForbidden},
		{"query garbage", "/admin/queues/?token=nope", "", http.StatusUnauthorized},
		{"query publish", "/admin/queues/?token=" + mint("r1", auth.RolePublish), "", http.StatusForbidden},
		{"bearer admin", "/admin/queues/", admin, http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := do(tc.path, tc.bearer, nil)
			if rec.Code != tc.want {
				t.Fatalf("GET %s = %d, want %d: %s", tc.path, rec.Code, tc.want, rec.Body)
			}
			if tc.want != http.StatusOK && !strings.Contains(rec.Body.String(), `"error"`) {
				t.Fatalf("error body is not JSON: %s", rec.Body)
			}
		})
	}

	// Handshake: cookie set, token gone from the redirect.
	rec := do("/admin/queues/?token="+admin+"&x=1", "", nil)
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("handshake = %d: %s", rec.Code, rec.Body)
	}
	if loc := rec.Header().Get("Location"); strings.Contains(loc, "token") || !strings.HasPrefix(loc, "/admin/queues/") {
		t.Fatalf("redirect to %q", loc)
	}
	var cookie *http.Cookie
	for _, c := range rec.Result().Cookies() {
		if c.Name == adminCookie {
			cookie = c
		}
	}
	if cookie == nil || !cookie.HttpOnly || cookie.Path != queuesPath {
		t.Fatalf("cookie = %+v", cookie)
	}
	page := do("/admin/queues/", "", cookie)
	if page.Code != http.StatusOK || !strings.Contains(page.Body.String(), "<html") {
		t.Fatalf("UI with cookie = %d %.200s", page.Code, page.Body)
	}
	api := do("/admin/queues/api/queues", "", cookie)
	if api.Code != http.StatusOK {
		t.Fatalf("UI API = %d %s", api.Code, api.Body)
	}
	var out struct {
		Queues []struct {
			Queue   string `json:"queue"`
			Pending int    `json:"pending"`
		} `json:"queues"`
	}
	if err := json.Unmarshal(api.Body.Bytes(), &out); err != nil {
		t.Fatalf("%v: %s", err, api.Body)
	}
	found := false
	for _, q := range out.Queues {
		if q.Queue == "uploads:test" && q.Pending == 1 {
			found = true
		}
	}
	if !found {
		t.Fatalf("queue uploads:test with 1 pending not in %s", api.Body)
	}
}
