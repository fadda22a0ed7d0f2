package ingest

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mosaic-rtc/mosaic/internal/auth"
	"github.com/mosaic-rtc/mosaic/internal/media"
	"github.com/pion/rtcp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// A publisher's and a viewer's streams show bitrate, feedback and round
// trips in GET /api/rooms/{room}/sessions and in the session metrics.
func TestSessionStats(t *testing.T) {
	h := newHarness(t)
	h.rooms.addLive(t, "lobby")
	pub := newTestPublisher(t)
	pub.publish(t, h, "lobby", h.token(t, "lobby", auth.RolePublish))
	pub.send(t)
	sink := firstSink(t, h, media.Video)
	growing(t, sink, "video packets")
	sink.requestKeyframe() // one PLI to the publisher
	view := newTestViewer(t)
	view.watch(t, h, "lobby", h.token(t, "lobby", auth.RoleView))

	admin := h.token(t, "lobby", auth.RoleAdmin)
	var got struct {
		Room     string         `json:"room"`
		Sessions []SessionStats `json:"sessions"`
	}
	byKind := map[string]SessionStats{}
	waitFor(t, "stats of both sessions", 30*time.Second, func() bool {
		resp, body := h.do(t, http.MethodGet, "/api/rooms/lobby/sessions", admin, "", nil)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("sessions: %d %s", resp.StatusCode, body)
		}
		if err := json.Unmarshal(body, &got); err != nil {
			t.Fatalf("sessions body %s: %v", body, err)
		}
		clear(byKind)
		for _, st := range got.Sessions {
			byKind[st.Kind] = st
		}
		p, v := byKind[KindPublisher], byKind[KindViewer]
		return len(got.Sessions) == 2 && len(p.Streams) == 2 && len(v.Streams) == 2 &&
			p.BitrateBps > 0 && v.BitrateBps > 0 && p.RTTSeconds > 0 && streamOf(v, "video").RTTSeconds > 0 &&
			streamOf(p, "video").PLIsSent > 0 && streamOf(v, "video").Packets >= 30
	})
	p, v := byKind[KindPublisher], byKind[KindViewer]
	if got.Room != "lobby" {
		t.Errorf("room %q", got.Room)
	}
	pv := streamOf(p, "video")
	if pv.Packets < 30 || pv.Bytes < 10000 || pv.MimeType != "video/VP8" || pv.SSRC != sink.info.SSRC {
		t.Errorf("publisher video stream %+v (sink ssrc %d)", pv, sink.info.SSRC)
	}
	// The fixture runs at a few hundred kbit/s.
	if pv.BitrateBps < 50e3 || pv.BitrateBps > 5e6 {
		t.Errorf("publisher video bitrate %.0f bit/s", pv.BitrateBps)
	}
	if pv.PacketsLost != 0 {
		t.Errorf("publisher lost %d packets on loopback", pv.PacketsLost)
	}
	if pa := streamOf(p, "audio"); pa.Packets == 0 || pa.BitrateBps <= 0 {
		t.Errorf("publisher audio stream %+v", pa)
	}
	if vv := streamOf(v, "video"); vv.Packets < 30 || vv.MimeType != "video/H264" || vv.RTTSeconds > 1 {
		t.Errorf("viewer video stream %+v", vv)
	}

	// A viewer's PLI is counted as received.
	waitFor(t, "the viewer's video track", 20*time.Second, func() bool { return view.videoSSRC.Load() != 0 })
	if err := view.pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: view.videoSSRC.Load()}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "viewer PLI counted", 20*time.Second, func() bool {
		st := sessionOf(h.srv.RoomSessions("lobby"), KindViewer)
		return streamOf(st, "video").PLIsReceived > 0
	})

	reg := prometheus.NewRegistry()
	reg.MustRegister(h.srv.Collector())
	want := `
# HELP mosaic_session_count Live WHIP (kind=publisher) and WHEP (kind=viewer) sessions.
# TYPE mosaic_session_count gauge
mosaic_session_count{kind="publisher",room="lobby"} 1
mosaic_session_count{kind="viewer",room="lobby"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "mosaic_session_count"); err != nil {
		t.Error(err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	values := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			kind := ""
			for _, l := range m.GetLabel() {
				if l.GetName() == "kind" {
					kind = l.GetValue()
				}
			}
			val := m.GetGauge().GetValue() + m.GetCounter().GetValue()
			values[mf.GetName()+"/"+kind] = val
		}
	}
	for _, name := range []string{"mosaic_session_bitrate_bps/publisher", "mosaic_session_bitrate_bps/viewer",
		"mosaic_session_rtp_bytes_total/publisher", "mosaic_session_rtp_bytes_total/viewer",
		"mosaic_session_plis_total/publisher", "mosaic_session_plis_total/viewer", "mosaic_session_rtt_max_seconds/publisher"} {
		if values[name] <= 0 {
			t.Errorf("%s = %v, want > 0", name, values[name])
		}
	}

	// Counters keep an ended session's share.
	before := values["mosaic_session_rtp_bytes_total/publisher"]
	if resp, body := h.do(t, http.MethodDelete, pub.location, "", "", nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("DELETE: %d %s", resp.StatusCode, body)
	}
	if got := testutil.ToFloat64(onlyMetric(t, reg, "mosaic_session_count", "publisher")); got != 0 {
		t.Errorf("publisher sessions after DELETE: %v", got)
	}
	if got := testutil.ToFloat64(onlyMetric(t, reg, "mosaic_session_rtp_bytes_total", "publisher")); got < before {
		t.Errorf("publisher bytes went down from %v to %v", before, got)
	}

	// Other tokens are refused.
	for _, tc := range []struct {
		tok    string
		status int
	}{
		{"", http.StatusUnauthorized},
		{h.token(t, "lobby", auth.RoleView), http.StatusForbidden},
		{h.token(t, "other", auth.RoleAdmin), http.StatusForbidden},
	} {
		resp, body := h.do(t, http.MethodGet, "/api/rooms/lobby/sessions", tc.tok, "", nil)
		if resp.StatusCode != tc.status {
			t.Errorf("sessions with token %.12q: %d %s, want %d", tc.tok, resp.StatusCode, body, tc.status)
		}
	}
}

func streamOf(st SessionStats, kind string) StreamStats {
	for _, s := range st.Streams {
		if s.Kind == kind {
			return s
		}
	}
	return StreamStats{}
}

func sessionOf(list []SessionStats, kind string) SessionStats {
	for _, st := range list {
		if st.Kind == kind {
			return st
		}
	}
	return SessionStats{}
}

// onlyMetric gathers one metric of a kind as a collector for testutil.
func onlyMetric(t *testing.T, reg *prometheus.Registry, name, kind string) prometheus.Collector {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "kind" && l.GetValue() == kind {
					return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "x"}, func() float64 {
						return m.GetGauge().GetValue() + m.GetCounter().GetValue()
					})
				}
			}
		}
	}
	t.Fatalf("no %s{kind=%s}", name, kind)
	return nil
}
