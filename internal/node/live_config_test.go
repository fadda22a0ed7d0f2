package node

import (
	"crypto/x509"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mosaic-rtc/mosaic/internal/testenv"
)

// TestRTMPSCAFile: a PEM file of CAs becomes the rtmps roots; a missing or
// empty file is a startup error that names it.
func TestRTMPSCAFile(t *testing.T) {
	if pool, err := rootCAs(""); err != nil || pool != nil {
		t.Fatalf("no file: pool %v, err %v; want the system's (nil) and no error", pool, err)
	}
	caPEM, cert := testenv.TLSCert(t)
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	good := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(good, []byte(caPEM), 0o644); err != nil {
		t.Fatal(err)
	}
	pool, err := rootCAs(good)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool}); err != nil {
		t.Fatalf("a certificate of the file's CA is not trusted: %v", err)
	}
	empty := filepath.Join(dir, "empty.pem")
	if err := os.WriteFile(empty, []byte("not a certificate\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{empty, filepath.Join(dir, "missing.pem")} {
		if _, err := rootCAs(f); err == nil || !strings.Contains(err.Error(), "rtmps CA file") {
			t.Fatalf("%s: err %v, want an rtmps CA file error", f, err)
		}
	}
}
