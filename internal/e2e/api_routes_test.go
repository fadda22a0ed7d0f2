package e2e

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mosaic-rtc/mosaic/internal/catalog"
	"github.com/mosaic-rtc/mosaic/internal/testenv"
)

// apiCase is one request and the status it must get. op names the
// documented operation it exercises ("GET /api/rooms/{room}").
type apiCase struct {
	name   string
	op     string
	method string
	path   string
	token  string
	ctype  string
	body   string
	want   int
	// check looks further at the answer (nil: JSON errors carry "error").
	check func(t *testing.T, res *http.Response, body []byte)
}

// TestAPIRoutes calls every documented route of a real `mosaic serve` with
// good and bad requests, and checks each documented operation was called.
func TestAPIRoutes(t *testing.T) {
	s := startServer(t)
	const room = "apitest"
	other := s.token("other", "admin")
	view := s.token(room, "view")
	pubTok := s.token(room, "publish")
	unknownRec := catalog.NewID()
	if code := s.call("POST", "/api/rooms", s.admin, map[string]any{"name": room}, nil); code != http.StatusCreated {
		t.Fatalf("create room: %d", code)
	}
	var running recordingView
	if code := s.call("POST", "/api/rooms/"+room+"/recordings", s.admin, nil, &running); code != http.StatusCreated {
		t.Fatalf("start recording: %d", code)
	}

	jsonHas := func(keys ...string) func(t *testing.T, res *http.Response, body []byte) {
		return func(t *testing.T, res *http.Response, body []byte) {
			var m map[string]any
			if err := json.Unmarshal(body, &m); err != nil {
				t.Fatalf("not JSON: %v: %.200s", err, body)
			}
			for _, k := range keys {
				if _, ok := m[k]; !ok {
					t.Errorf("answer has no %q: %.300s", k, body)
				}
			}
		}
	}
	contains := func(ct, text string) func(t *testing.T, res *http.Response, body []byte) {
		return func(t *testing.T, res *http.Response, body []byte) {
			if got := res.Header.Get("Content-Type"); !strings.HasPrefix(got, ct) {
				t.Errorf("Content-Type %q, want %s", got, ct)
			}
			if !strings.Contains(string(body), text) {
				t.Errorf("answer lacks %q: %.200s", text, body)
			}
		}
	}
	big := `{"name":"` + strings.Repeat("a", 70<<10) + `"}`
	const offer = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"

	cases := []apiCase{
		// Rooms.
		{"list rooms", "GET /api/rooms", "GET", "/api/rooms?limit=1", s.admin, "", "", 200, jsonHas("rooms", "total", "offset", "limit", "has_more")},
		{"list rooms no token", "GET /api/rooms", "GET", "/api/rooms", "", "", "", 401, nil},
		{"list rooms garbage token", "GET /api/rooms", "GET", "/api/rooms", "garbage", "", "", 401, nil},
		{"list rooms view token", "GET /api/rooms", "GET", "/api/rooms", view, "", "", 403, nil},
		{"list rooms room admin", "GET /api/rooms", "GET", "/api/rooms", other, "", "", 403, nil},
		{"list rooms limit 0", "GET /api/rooms", "GET", "/api/rooms?limit=0", s.admin, "", "", 400, nil},
		{"list rooms limit 501", "GET /api/rooms", "GET", "/api/rooms?limit=501", s.admin, "", "", 400, nil},
		{"list rooms offset -1", "GET /api/rooms", "GET", "/api/rooms?offset=-1", s.admin, "", "", 400, nil},
		{"list rooms offset x", "GET /api/rooms", "GET", "/api/rooms?offset=x", s.admin, "", "", 400, nil},
		{"create room", "POST /api/rooms", "POST", "/api/rooms", s.admin, "application/json", `{"name":"api-two","layout":{"kind":"grid","fit":"crop"}}`, 201, jsonHas("name", "layout")},
		{"create room bad name", "POST /api/rooms", "POST", "/api/rooms", s.admin, "application/json", `{"name":"a b"}`, 400, nil},
		{"create room no name", "POST /api/rooms", "POST", "/api/rooms", s.admin, "application/json", `{}`, 400, nil},
		{"create room unknown field", "POST /api/rooms", "POST", "/api/rooms", s.admin, "application/json", `{"name":"x","colour":1}`, 400, nil},
		{"create room bad JSON", "POST /api/rooms", "POST", "/api/rooms", s.admin, "application/json", `{"name":`, 400, nil},
		{"create room huge body", "POST /api/rooms", "POST", "/api/rooms", s.admin, "application/json", big, 400, nil},
		{"create room bad layout", "POST /api/rooms", "POST", "/api/rooms", s.admin, "application/json", `{"name":"x","layout":{"kind":"hex"}}`, 400, nil},
		{"create room view token", "POST /api/rooms", "POST", "/api/rooms", view, "application/json", `{"name":"x"}`, 403, nil},
		{"get room", "GET /api/rooms/{room}", "GET", "/api/rooms/" + room, s.admin, "", "", 200, jsonHas("name", "participants", "viewers", "layout", "recordings")},
		{"get room missing", "GET /api/rooms/{room}", "GET", "/api/rooms/nosuchroom", s.admin, "", "", 404, nil},
		{"get room bad name", "GET /api/rooms/{room}", "GET", "/api/rooms/bad%21name", s.admin, "", "", 400, nil},
		{"get room other room's admin", "GET /api/rooms/{room}", "GET", "/api/rooms/" + room, other, "", "", 403, nil},
		{"layout custom", "PUT /api/rooms/{room}/layout", "PUT", "/api/rooms/" + room + "/layout", s.admin, "application/json", `{"kind":"custom","regions":[{"x":0,"y":0,"w":0.5,"h":1},{"x":0.5,"y":0,"w":0.5,"h":1}]}`, 200, jsonHas("layout")},
		{"layout grid", "PUT /api/rooms/{room}/layout", "PUT", "/api/rooms/" + room + "/layout", s.admin, "application/json", `{"kind":"grid"}`, 200, nil},
		{"layout unknown kind", "PUT /api/rooms/{room}/layout", "PUT", "/api/rooms/" + room + "/layout", s.admin, "application/json", `{"kind":"hex"}`, 400, nil},
		{"layout empty", "PUT /api/rooms/{room}/layout", "PUT", "/api/rooms/" + room + "/layout", s.admin, "application/json", ``, 400, nil},
		{"layout region outside", "PUT /api/rooms/{room}/layout", "PUT", "/api/rooms/" + room + "/layout", s.admin, "application/json", `{"kind":"custom","regions":[{"x":0.6,"y":0,"w":0.5,"h":1}]}`, 400, nil},
		{"layout bad fit", "PUT /api/rooms/{room}/layout", "PUT", "/api/rooms/" + room + "/layout", s.admin, "application/json", `{"kind":"grid","fit":"stretch"}`, 400, nil},
		{"layout missing room", "PUT /api/rooms/{room}/layout", "PUT", "/api/rooms/nosuchroom/layout", s.admin, "application/json", `{"kind":"grid"}`, 404, nil},
		{"layout publish token", "PUT /api/rooms/{room}/layout", "PUT", "/api/rooms/" + room + "/layout", pubTok, "application/json", `{"kind":"grid"}`, 403, nil},
		{"events no token", "GET /api/rooms/{room}/events", "GET", "/api/rooms/" + room + "/events", "", "", "", 401, nil},
		{"events other room", "GET /api/rooms/{room}/events", "GET", "/api/rooms/" + room + "/events?token=" + s.token("other", "view"), "", "", "", 403, nil},
		{"sessions", "GET /api/rooms/{room}/sessions", "GET", "/api/rooms/" + room + "/sessions", s.admin, "", "", 200, jsonHas("room", "sessions")},
		{"sessions no token", "GET /api/rooms/{room}/sessions", "GET", "/api/rooms/" + room + "/sessions", "", "", "", 401, nil},
		{"sessions view token", "GET /api/rooms/{room}/sessions", "GET", "/api/rooms/" + room + "/sessions", view, "", "", 403, nil},
		{"close room missing", "DELETE /api/rooms/{room}", "DELETE", "/api/rooms/nosuchroom", s.admin, "", "", 404, nil},
		{"close room view token", "DELETE /api/rooms/{room}", "DELETE", "/api/rooms/" + room, view, "", "", 403, nil},
		{"close room", "DELETE /api/rooms/{room}", "DELETE", "/api/rooms/api-two", s.admin, "", "", 204, func(t *testing.T, _ *http.Response, _ []byte) {
			if code := s.call("GET", "/api/rooms/api-two", s.admin, nil, nil); code != 404 {
				t.Errorf("closed room answers %d", code)
			}
		}},

		// Recordings.
		{"start recording missing room", "POST /api/rooms/{room}/recordings", "POST", "/api/rooms/nosuchroom/recordings", s.admin, "application/json", `{}`, 404, nil},
		{"start recording bad name", "POST /api/rooms/{room}/recordings", "POST", "/api/rooms/bad%21name/recordings", s.admin, "", "", 400, nil},
		{"start recording bad body", "POST /api/rooms/{room}/recordings", "POST", "/api/rooms/" + room + "/recordings", s.admin, "application/json", `{"tracks":"yes"}`, 400, nil},
		{"start recording view token", "POST /api/rooms/{room}/recordings", "POST", "/api/rooms/" + room + "/recordings", view, "", "", 403, nil},
		{"list recordings", "GET /api/recordings", "GET", "/api/recordings?room=" + room + "&limit=5", s.admin, "", "", 200, jsonHas("recordings", "offset", "limit", "has_more")},
		{"list recordings bad room", "GET /api/recordings", "GET", "/api/recordings?room=a%20b", s.admin, "", "", 400, nil},
		{"list recordings limit", "GET /api/recordings", "GET", "/api/recordings?limit=-3", s.admin, "", "", 400, nil},
		{"list recordings no token", "GET /api/recordings", "GET", "/api/recordings", "", "", "", 401, nil},
		{"get recording", "GET /api/recordings/{id}", "GET", "/api/recordings/" + running.ID, s.admin, "", "", 200, jsonHas("id", "room", "state", "duration_s", "files")},
		{"get recording unknown", "GET /api/recordings/{id}", "GET", "/api/recordings/" + unknownRec, s.admin, "", "", 404, nil},
		{"get recording bad id", "GET /api/recordings/{id}", "GET", "/api/recordings/..%2Fetc", s.admin, "", "", 400, nil},
		{"get recording view token", "GET /api/recordings/{id}", "GET", "/api/recordings/" + running.ID, view, "", "", 403, nil},
		{"url while recording", "GET /api/recordings/{id}/url", "GET", "/api/recordings/" + running.ID + "/url", s.admin, "", "", 409, nil},
		{"url unknown", "GET /api/recordings/{id}/url", "GET", "/api/recordings/" + unknownRec + "/url", s.admin, "", "", 404, nil},
		{"url bad id", "GET /api/recordings/{id}/url", "GET", "/api/recordings/x!/url", s.admin, "", "", 400, nil},
		{"url no token", "GET /api/recordings/{id}/url", "GET", "/api/recordings/" + running.ID + "/url", "", "", "", 401, nil},
		{"compose while recording", "POST /api/recordings/{id}/compositions", "POST", "/api/recordings/" + running.ID + "/compositions", s.admin, "application/json", `{}`, 409, nil},
		{"compose unknown", "POST /api/recordings/{id}/compositions", "POST", "/api/recordings/" + unknownRec + "/compositions", s.admin, "application/json", `{}`, 404, nil},
		{"compose no token", "POST /api/recordings/{id}/compositions", "POST", "/api/recordings/" + running.ID + "/compositions", "", "application/json", `{}`, 401, nil},
		{"compose bad JSON", "POST /api/recordings/{id}/compositions", "POST", "/api/recordings/" + running.ID + "/compositions", s.admin, "application/json", `{"width":`, 400, nil},
		{"composition unknown recording", "GET /api/recordings/{id}/compositions/{cid}", "GET", "/api/recordings/" + unknownRec + "/compositions/nosuch", s.admin, "", "", 404, nil},
		{"composition view token", "GET /api/recordings/{id}/compositions/{cid}", "GET", "/api/recordings/" + running.ID + "/compositions/nosuch", view, "", "", 403, nil},
		{"cancel composition unknown recording", "DELETE /api/recordings/{id}/compositions/{cid}", "DELETE", "/api/recordings/" + unknownRec + "/compositions/nosuch", s.admin, "", "", 404, nil},
		{"cancel composition no token", "DELETE /api/recordings/{id}/compositions/{cid}", "DELETE", "/api/recordings/" + running.ID + "/compositions/nosuch", "", "", "", 401, nil},
		{"list compositions", "GET /api/recordings/{id}/compositions", "GET", "/api/recordings/" + running.ID + "/compositions", s.admin, "", "", 200, jsonHas("compositions")},
		{"list compositions unknown", "GET /api/recordings/{id}/compositions", "GET", "/api/recordings/" + unknownRec + "/compositions", s.admin, "", "", 404, nil},
		{"list compositions no token", "GET /api/recordings/{id}/compositions", "GET", "/api/recordings/" + running.ID + "/compositions", "", "", "", 401, nil},

		// This node in the cluster (drain itself is tested on a node of its own).
		{"node", "GET /api/node", "GET", "/api/node", s.admin, "", "", 200, jsonHas("id", "url")},
		{"node no token", "GET /api/node", "GET", "/api/node", "", "", "", 401, nil},
		{"nodes", "GET /api/nodes", "GET", "/api/nodes", s.admin, "", "", 200, jsonHas("nodes")},
		{"nodes view token", "GET /api/nodes", "GET", "/api/nodes", view, "", "", 403, nil},
		{"drain bad body", "POST /api/node/drain", "POST", "/api/node/drain", s.admin, "application/json", `{"timeout_s":-1}`, 400, nil},
		{"drain no token", "POST /api/node/drain", "POST", "/api/node/drain", "", "application/json", `{}`, 401, nil},
		{"delete while recording", "DELETE /api/recordings/{id}", "DELETE", "/api/recordings/" + running.ID, s.admin, "", "", 409, nil},
		{"delete unknown", "DELETE /api/recordings/{id}", "DELETE", "/api/recordings/" + unknownRec, s.admin, "", "", 404, nil},
		{"delete bad id", "DELETE /api/recordings/{id}", "DELETE", "/api/recordings/x!", s.admin, "", "", 400, nil},
		{"stop unknown", "POST /api/recordings/{id}/stop", "POST", "/api/recordings/" + unknownRec + "/stop", s.admin, "", "", 404, nil},
		{"stop bad id", "POST /api/recordings/{id}/stop", "POST", "/api/recordings/x!/stop", s.admin, "", "", 400, nil},
		{"stop view token", "POST /api/recordings/{id}/stop", "POST", "/api/recordings/" + running.ID + "/stop", view, "", "", 403, nil},
		{"stop", "POST /api/recordings/{id}/stop", "POST", "/api/recordings/" + running.ID + "/stop", s.admin, "", "", 200, jsonHas("id", "state")},
		{"stop again", "POST /api/recordings/{id}/stop", "POST", "/api/recordings/" + running.ID + "/stop", s.admin, "", "", 200, jsonHas("id", "state")},

		// Live outputs.
		{"live status", "GET /rooms/{room}/live", "GET", "/rooms/" + room + "/live", "", "", "", 200, jsonHas("room", "viewers", "participants", "whep", "hls")},
		{"live status missing room", "GET /rooms/{room}/live", "GET", "/rooms/nosuchroom/live", "", "", "", 404, nil},
		{"hls missing room", "GET /rooms/{room}/hls/{file}", "GET", "/rooms/nosuchroom/hls/index.m3u8", "", "", "", 404, nil},
		{"outputs", "GET /api/rooms/{room}/outputs", "GET", "/api/rooms/" + room + "/outputs", s.admin, "", "", 200, jsonHas("outputs")},
		{"outputs no token", "GET /api/rooms/{room}/outputs", "GET", "/api/rooms/" + room + "/outputs", "", "", "", 401, nil},
		{"output bad url", "POST /api/rooms/{room}/outputs", "POST", "/api/rooms/" + room + "/outputs", s.admin, "application/json", `{"url":"http://example.com/x"}`, 400, nil},
		{"output bad JSON", "POST /api/rooms/{room}/outputs", "POST", "/api/rooms/" + room + "/outputs", s.admin, "application/json", `{"url":`, 400, nil},
		{"output view token", "POST /api/rooms/{room}/outputs", "POST", "/api/rooms/" + room + "/outputs", view, "application/json", `{"url":"rtmp://127.0.0.1:1/app/key"}`, 403, nil},
		{"output unknown", "GET /api/rooms/{room}/outputs/{id}", "GET", "/api/rooms/" + room + "/outputs/nosuch", s.admin, "", "", 404, nil},
		{"stop output unknown", "DELETE /api/rooms/{room}/outputs/{id}", "DELETE", "/api/rooms/" + room + "/outputs/nosuch", s.admin, "", "", 404, nil},

		// Tokens.
		{"token", "POST /api/tokens", "POST", "/api/tokens", s.admin, "application/json", `{"room":"` + room + `","role":"view","identity":"v","ttl":"5m"}`, 201, jsonHas("token", "room", "role", "expires_at")},
		{"token bad role", "POST /api/tokens", "POST", "/api/tokens", s.admin, "application/json", `{"room":"r","role":"owner"}`, 400, nil},
		{"token no role", "POST /api/tokens", "POST", "/api/tokens", s.admin, "application/json", `{"room":"r"}`, 400, nil},
		{"token bad room", "POST /api/tokens", "POST", "/api/tokens", s.admin, "application/json", `{"room":"a/b","role":"view"}`, 400, nil},
		{"token any room", "POST /api/tokens", "POST", "/api/tokens", s.admin, "application/json", `{"room":"*","role":"admin"}`, 201, jsonHas("token")},
		{"token no room", "POST /api/tokens", "POST", "/api/tokens", s.admin, "application/json", `{"role":"view"}`, 400, nil},
		{"token bad ttl", "POST /api/tokens", "POST", "/api/tokens", s.admin, "application/json", `{"room":"r","role":"view","ttl":"-1h"}`, 400, nil},
		{"token by a publisher", "POST /api/tokens", "POST", "/api/tokens", pubTok, "application/json", `{"room":"` + room + `","role":"admin"}`, 403, nil},

		// Meta.
		{"openapi", "GET /api/openapi.json", "GET", "/api/openapi.json", "", "", "", 200, jsonHas("openapi", "paths", "components")},
		{"unknown API path", "", "GET", "/api/nothing/here", s.admin, "", "", 404, nil},
		{"healthz", "GET /healthz", "GET", "/healthz", "", "", "", 200, jsonHas("status")},
		{"readyz", "GET /readyz", "GET", "/readyz", "", "", "", 200, jsonHas("ready", "checks")},
		{"metrics", "GET /metrics", "GET", "/metrics", "", "", "", 200, contains("text/plain", "mosaic_rooms")},
		{"queues no token", "GET /admin/queues/", "GET", "/admin/queues/", "", "", "", 401, nil},
		{"queues view token", "GET /admin/queues/", "GET", "/admin/queues/", view, "", "", 403, nil},
		{"queues admin", "GET /admin/queues/", "GET", "/admin/queues/", s.admin, "", "", 200, contains("text/html", "<html")},
		{"home page", "GET /", "GET", "/", "", "", "", 200, contains("text/html", "Mosaic")},
		{"console page", "GET /{page}", "GET", "/console.html", "", "", "", 200, contains("text/html", "Layout")},
		{"recordings page", "GET /{page}", "GET", "/recordings.html", "", "", "", 200, contains("text/html", "Recordings")},
		{"script", "GET /{page}", "GET", "/mosaic.js", "", "", "", 200, contains("text/javascript", "export")},
		{"no page", "GET /{page}", "GET", "/nothing.html", "", "", "", 404, func(*testing.T, *http.Response, []byte) {}},
	}
	// WHIP and WHEP share their verbs and errors.
	for _, kind := range []string{"whip", "whep"} {
		base := "/rooms/" + room + "/" + kind
		tok := pubTok
		if kind == "whep" {
			tok = view
		}
		cases = append(cases,
			apiCase{kind + " no token", "POST /rooms/{room}/" + kind, "POST", base, "", "application/sdp", offer, 401, nil},
			apiCase{kind + " other room", "POST /rooms/{room}/" + kind, "POST", base, s.token("other", "admin"), "application/sdp", offer, 403, nil},
			apiCase{kind + " wrong type", "POST /rooms/{room}/" + kind, "POST", base, tok, "text/plain", offer, 415, nil},
			apiCase{kind + " not an offer", "POST /rooms/{room}/" + kind, "POST", base, tok, "application/sdp", "hello", 400, nil},
			apiCase{kind + " GET", "", "GET", base, tok, "", "", 405, nil},
			apiCase{kind + " options", "OPTIONS /rooms/{room}/" + kind, "OPTIONS", base, "", "", "", 204, func(*testing.T, *http.Response, []byte) {}},
			apiCase{kind + " patch unknown", "PATCH /rooms/{room}/" + kind + "/{session}", "PATCH", base + "/nosession", tok, "application/trickle-ice-sdpfrag", "a=ice-ufrag:x\r\n", 404, nil},
			apiCase{kind + " delete unknown", "DELETE /rooms/{room}/" + kind + "/{session}", "DELETE", base + "/nosession", tok, "", "", 404, nil},
			apiCase{kind + " session options", "OPTIONS /rooms/{room}/" + kind + "/{session}", "OPTIONS", base + "/nosession", "", "", "", 204, func(*testing.T, *http.Response, []byte) {}},
			apiCase{kind + " session GET", "", "GET", base + "/nosession", tok, "", "", 405, nil},
		)
	}

	covered := map[string]bool{}
	for _, tc := range cases {
		covered[tc.op] = true
		t.Run(tc.name, func(t *testing.T) {
			res, body := s.raw(tc.method, tc.path, tc.token, tc.ctype, tc.body)
			if res.StatusCode != tc.want {
				t.Fatalf("%s %s = %d, want %d: %.300s", tc.method, tc.path, res.StatusCode, tc.want, body)
			}
			if tc.check != nil {
				tc.check(t, res, body)
				return
			}
			if tc.want >= 400 {
				var e struct {
					Error string `json:"error"`
				}
				if err := json.Unmarshal(body, &e); err != nil || e.Error == "" {
					t.Fatalf("error answer is not JSON {\"error\": …}: %q", body)
				}
			}
		})
	}

	// The events feed opens with the room.
	t.Run("events", func(t *testing.T) {
		covered["GET /api/rooms/{room}/events"] = true
		req, _ := http.NewRequest("GET", s.base+"/api/rooms/"+room+"/events?token="+view, nil)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/event-stream") {
			t.Fatalf("events = %d %s", res.StatusCode, res.Header.Get("Content-Type"))
		}
		line, err := bufio.NewReader(res.Body).ReadString('\n')
		if err != nil || strings.TrimSpace(line) != "event: room" {
			t.Fatalf("first line %q, %v", line, err)
		}
	})

	// An RTMP output to a server that is not there: created, listed, stopped.
	t.Run("output", func(t *testing.T) {
		res, body := s.raw("POST", "/api/rooms/"+room+"/outputs", s.admin, "application/json", `{"url":"rtmp://127.0.0.1:1/app/secretkey"}`)
		if res.StatusCode != 201 {
			t.Fatalf("create output: %d %s", res.StatusCode, body)
		}
		var out struct {
			ID  string `json:"id"`
			URL string `json:"url"`
		}
		if err := json.Unmarshal(body, &out); err != nil || out.ID == "" {
			t.Fatalf("output %q: %v", body, err)
		}
		if strings.Contains(out.URL, "secretkey") {
			t.Errorf("output shows its stream key: %s", out.URL)
		}
		path := "/api/rooms/" + room + "/outputs/" + out.ID
		if res, body := s.raw("GET", path, s.admin, "", ""); res.StatusCode != 200 {
			t.Errorf("get output: %d %s", res.StatusCode, body)
		}
		if res, body := s.raw("DELETE", path, s.admin, "", ""); res.StatusCode != 200 || !strings.Contains(string(body), "stopped") {
			t.Errorf("stop output: %d %s", res.StatusCode, body)
		}
	})

	t.Run("ready recording", func(t *testing.T) { readyRecordingRoutes(t, s, room) })
	covered["GET /api/recordings/{id}/url"] = true

	// Every documented operation was called.
	res, body := s.raw("GET", "/api/openapi.json", "", "", "")
	if res.StatusCode != 200 {
		t.Fatalf("openapi: %d", res.StatusCode)
	}
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatal(err)
	}
	for path, item := range doc.Paths {
		for m := range item {
			if op := strings.ToUpper(m) + " " + path; m != "parameters" && !covered[op] {
				t.Errorf("documented operation %s has no case in TestAPIRoutes", op)
			}
		}
	}
}

// readyRecordingRoutes records a few seconds of a test pattern and goes
// through the routes of a finished recording: playback URLs, the files
// they lead to, and deletion.
func readyRecordingRoutes(t *testing.T, s *server, room string) {
	var rec recordingView
	if code := s.call("POST", "/api/rooms/"+room+"/recordings", s.admin, map[string]any{"tracks": false}, &rec); code != 201 {
		t.Fatalf("start: %d", code)
	}
	pub := testenv.Run(t, nil, s.bin, "publish", "--url", s.base+"/rooms/"+room+"/whip", "--token", s.token(room, "publish"),
		"--test-pattern", "--duration", "4s")
	select {
	case <-pub.Done():
	case <-time.After(60 * time.Second):
		t.Fatalf("publisher still running:\n%s", pub.Tail(20))
	}
	if err := pub.Err(); err != nil {
		t.Fatalf("publish: %v\n%s", err, pub.Tail(20))
	}
	if code := s.call("POST", "/api/recordings/"+rec.ID+"/stop", s.admin, nil, nil); code != 200 {
		t.Fatalf("stop: %d", code)
	}
	ready := s.waitState(rec.ID, "ready", 90*time.Second)
	names := map[string]int64{}
	for _, f := range ready.Files {
		names[f.Name] = f.Size
	}
	for _, want := range []string{"composite.mp4", "thumbnail.jpg"} {
		if names[want] <= 0 {
			t.Errorf("ready recording lists no %s: %+v", want, ready.Files)
		}
	}
	for _, tc := range []struct {
		query, ctype string
		want         int
	}{
		{"", "video/mp4", 200},
		{"?file=composite.mp4", "video/mp4", 200},
		{"?file=thumbnail.jpg", "image/jpeg", 200},
		{"?file=nothing.mp4", "", 404},
		{"?file=../../etc/passwd", "", 404},
	} {
		res, body := s.raw("GET", "/api/recordings/"+rec.ID+"/url"+tc.query, s.admin, "", "")
		if res.StatusCode != tc.want {
			t.Errorf("url%s = %d, want %d: %s", tc.query, res.StatusCode, tc.want, body)
			continue
		}
		if tc.want != 200 {
			continue
		}
		var u struct {
			URL  string `json:"url"`
			File string `json:"file"`
			Size int64  `json:"size"`
		}
		if err := json.Unmarshal(body, &u); err != nil || u.URL == "" {
			t.Fatalf("url%s: %q %v", tc.query, body, err)
		}
		got, err := http.Get(u.URL)
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(got.Body)
		got.Body.Close()
		if got.StatusCode != 200 || int64(len(data)) != u.Size || u.Size != names[u.File] {
			t.Errorf("GET %s: %d, %d bytes, want %d (listed %d)", u.File, got.StatusCode, len(data), u.Size, names[u.File])
		}
		if ct := got.Header.Get("Content-Type"); ct != tc.ctype {
			t.Errorf("%s served as %q, want %q", u.File, ct, tc.ctype)
		}
	}
	if res, body := s.raw("DELETE", "/api/recordings/"+rec.ID, s.admin, "", ""); res.StatusCode != 204 {
		t.Fatalf("delete: %d %s", res.StatusCode, body)
	}
	if code := s.call("GET", "/api/recordings/"+rec.ID, s.admin, nil, nil); code != 404 {
		t.Errorf("deleted recording answers %d", code)
	}
	if left := s.objects("recordings/" + room + "/" + rec.ID + "/"); len(left) > 0 {
		t.Errorf("objects left after delete: %v", left)
	}
}

// raw does one request and returns the response with its body read.
func (s *server) raw(method, path, token, ctype, body string) (*http.Response, []byte) {
	s.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, s.base+path, rd)
	if err != nil {
		s.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	// Redirects are answers too (the queue UI's token handshake).
	cl := &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := cl.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	return res, data
}
