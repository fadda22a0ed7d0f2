package rtmp

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mosaic-rtc/mosaic/internal/auth"
	"github.com/mosaic-rtc/mosaic/internal/mediatest"
	"github.com/mosaic-rtc/mosaic/internal/testenv"
)

// tlsTerminator is an RTMPS front for a plain RTMP server: it completes
// the TLS handshake and copies the connection to backend.
type tlsTerminator struct {
	ln         net.Listener
	wg         sync.WaitGroup
	mu         sync.Mutex
	conns      []net.Conn
	handshakes []error
}

func terminate(t *testing.T, port int, backend string, cert tls.Certificate) *tlsTerminator {
	t.Helper()
	ln, err := tls.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port), &tls.Config{Certificates: []tls.Certificate{cert}})
	if err != nil {
		t.Fatal(err)
	}
	tt := &tlsTerminator{ln: ln}
	tt.wg.Add(1)
	go func() {
		defer tt.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			tt.track(c)
			tt.wg.Add(1)
			go func() {
				defer tt.wg.Done()
				defer c.Close()
				err := c.(*tls.Conn).Handshake()
				tt.mu.Lock()
				tt.handshakes = append(tt.handshakes, err)
				tt.mu.Unlock()
				if err != nil {
					return
				}
				b, err := net.Dial("tcp", backend)
				if err != nil {
					return
				}
				tt.track(b)
				defer b.Close()
				done := make(chan struct{}, 2)
				go func() { _, _ = io.Copy(b, c); done <- struct{}{} }()
				go func() { _, _ = io.Copy(c, b); done <- struct{}{} }()
				<-done
				_ = b.Close()
				_ = c.Close()
				<-done
			}()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		tt.mu.Lock()
		for _, c := range tt.conns {
			_ = c.Close()
		}
		tt.mu.Unlock()
		tt.wg.Wait()
	})
	return tt
}

func (tt *tlsTerminator) track(c net.Conn) {
	tt.mu.Lock()
	tt.conns = append(tt.conns, c)
	tt.mu.Unlock()
}

func (tt *tlsTerminator) results() (ok, failed int) {
	tt.mu.Lock()
	defer tt.mu.Unlock()
	for _, err := range tt.handshakes {
		if err == nil {
			ok++
		} else {
			failed++
		}
	}
	return ok, failed
}

// TestRTMPSPushVerifiesCertificate: an rtmps output to a server whose
// certificate is from a private CA fails with a clear error until the
// output trusts that CA; then the server receives a stream that decodes.
func TestRTMPSPushVerifiesCertificate(t *testing.T) {
	m := startMixer(t)
	iss, _ := auth.NewIssuer(bytes.Repeat([]byte("s"), 32))
	mgr, err := New(Config{Rooms: oneRoom{"show", m}, Issuer: iss,
		Backoff: Backoff{Min: 300 * time.Millisecond, Max: time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(mgr.Close)
	mux := http.NewServeMux()
	mgr.Routes(mux)
	hs := httptest.NewServer(mux)
	t.Cleanup(hs.Close)
	admin, _ := iss.Mint("show", "ops", auth.RoleAdmin, time.Hour)
	a := api{t: t, base: hs.URL, token: admin}

	caPEM, cert := testenv.TLSCert(t)
	plain, secure := testenv.FreePort(t), testenv.FreePort(t)
	rx := listen(t, plain, filepath.Join(t.TempDir(), "rtmps.flv"))
	front := terminate(t, secure, fmt.Sprintf("127.0.0.1:%d", plain), cert)
	url := fmt.Sprintf("rtmps://127.0.0.1:%d/live/test", secure)
	body := func(extra string) string { return `{"url": "` + url + `"` + extra + `}` }

	for _, tc := range []struct{ name, body string }{
		{"both options", body(`, "insecure_skip_verify": true, "ca_pem": ` + jsonString(caPEM))},
		{"not PEM", body(`, "ca_pem": "abc"`)},
		{"rtmp with a CA", `{"url": "rtmp://127.0.0.1:1/live/test", "ca_pem": ` + jsonString(caPEM) + `}`},
	} {
		if code := a.do("POST", "/api/rooms/show/outputs", tc.body, nil); code != http.StatusBadRequest {
			t.Errorf("%s: %d, want 400", tc.name, code)
		}
	}

	// The system's roots do not know the CA: a clear error, retried.
	var untrusted Info
	if code := a.do("POST", "/api/rooms/show/outputs", body(""), &untrusted); code != 201 || untrusted.TLS != "system-roots" {
		t.Fatalf("create: %d %+v", code, untrusted)
	}
	failed := a.waitState(untrusted.ID, StateRetrying, 20*time.Second)
	if !strings.Contains(failed.LastError, "certificate signed by unknown authority") || !strings.Contains(failed.LastError, "ca_pem") {
		t.Errorf("untrusted certificate: last error %q", failed.LastError)
	}
	t.Logf("untrusted: %s", failed.LastError)
	if code := a.do("DELETE", "/api/rooms/show/outputs/"+untrusted.ID, "", nil); code != 200 {
		t.Fatalf("delete: %d", code)
	}
	if ok, bad := front.results(); ok != 0 || bad == 0 {
		t.Fatalf("handshakes before the CA was given: %d done, %d refused", ok, bad)
	}

	// Trusting the CA, the push goes through TLS to the server.
	var trusted Info
	if code := a.do("POST", "/api/rooms/show/outputs", body(`, "ca_pem": `+jsonString(caPEM)), &trusted); code != 201 || trusted.TLS != "custom-ca" {
		t.Fatalf("create with the CA: %d %+v", code, trusted)
	}
	a.waitState(trusted.ID, StateLive, 30*time.Second)
	time.Sleep(3 * time.Second)
	if code := a.do("DELETE", "/api/rooms/show/outputs/"+trusted.ID, "", nil); code != 200 {
		t.Fatalf("delete: %d", code)
	}
	select {
	case <-rx.done:
	case <-time.After(15 * time.Second):
		t.Error("receiver still running after the rtmps output was deleted")
		rx.stop(t)
	}
	// (More than one when the first came before ffmpeg listened.)
	if ok, _ := front.results(); ok < 1 {
		t.Errorf("%d TLS sessions, want at least 1", ok)
	}
	info := mediatest.Probe(t, rx.path)
	if v, au := info.Video(), info.Audio(); v == nil || v.CodecName != "h264" || v.Width != 320 || au == nil || au.CodecName != "aac" {
		t.Fatalf("received over rtmps: streams %+v", info.Streams)
	}
	frames := mediatest.Frames(t, rx.path, 320, 240, 30)
	if len(frames) < 45 {
		t.Errorf("%d frames decoded from the rtmps push, want ≥ 45 (1.5 s)", len(frames))
	}
	t.Logf("rtmps push: %d frames decoded", len(frames))
}

func jsonString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '\n':
			b.WriteString(`\n`)
		case '"', '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}
