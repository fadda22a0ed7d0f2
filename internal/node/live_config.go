package node

import (
	"crypto/x509"
	"fmt"
	"os"
	"time"
)

// LiveConfig configures the composite's live outputs besides WHEP: HLS for
// players and RTMP pushes to streaming platforms.
type LiveConfig struct {
	HLSDisabled      bool          // no /rooms/{room}/hls/ at all
	HLSTokenRequired bool          // HLS requests need a view token (?token=)
	HLSSegmentCount  int           // sliding window (default 7)
	HLSPartDuration  time.Duration // LL-HLS part target (default 200ms)
	RTMPMaxPerRoom   int           // RTMP outputs per room (default 4)
	// RTMPSCAFile is a PEM file of certificate authorities that rtmps://
	// outputs trust besides the system's (a private ingest's CA).
	RTMPSCAFile string
}

// rootCAs is the system pool plus the PEM certificates in file ("": nil,
// the system's alone).
func rootCAs(file string) (*x509.CertPool, error) {
	if file == "" {
		return nil, nil
	}
	pem, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("rtmps CA file: %w", err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("rtmps CA file %s: no PEM certificate in it", file)
	}
	return pool, nil
}
