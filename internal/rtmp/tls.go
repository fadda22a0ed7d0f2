package rtmp

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"sync"
	"time"
)

// TLS of an rtmps:// output. GStreamer's rtmp2sink can only check a
// certificate against the system's roots, so an rtmps output connects
// through a bridge: Go dials the server with TLS (the system's roots plus
// any CA of the node or the output, or no verification when asked), and
// rtmp2sink speaks plain RTMP to the bridge on a loopback port. The server
// sees a tcUrl naming that loopback address; the stream key and the
// application are the URL's.

// OutputOptions are the per-output settings of Add.
type OutputOptions struct {
	// CAPEM: PEM certificates trusted besides the system's and the node's
	// roots for this output (an ingest with its own CA, or self-signed).
	CAPEM string
	// InsecureSkipVerify accepts any server certificate. Testing only: the
	// stream key goes to whoever answers.
	InsecureSkipVerify bool
}

// TLS verification modes shown in Info.
const (
	tlsSystem   = "system-roots"
	tlsCustomCA = "custom-ca"
	tlsNone     = "no-verify"
)

// tlsDialTimeout bounds the TCP connect and the TLS handshake.
const tlsDialTimeout = 10 * time.Second

// outputTLS builds the TLS client configuration of one rtmps output: the
// node's roots (nil: the system's) plus the output's CA, or no check.
func outputTLS(roots *x509.CertPool, opts OutputOptions) (*tls.Config, string, error) {
	if opts.InsecureSkipVerify {
		if opts.CAPEM != "" {
			return nil, "", fmt.Errorf("%w: ca_pem and insecure_skip_verify exclude each other", ErrBadTLS)
		}
		return &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12}, tlsNone, nil
	}
	mode := tlsSystem
	if roots != nil {
		mode = tlsCustomCA
	}
	if opts.CAPEM != "" {
		if roots != nil {
			roots = roots.Clone()
		} else if sys, err := x509.SystemCertPool(); err == nil && sys != nil {
			roots = sys
		} else {
			roots = x509.NewCertPool()
		}
		if !roots.AppendCertsFromPEM([]byte(opts.CAPEM)) {
			return nil, "", fmt.Errorf("%w: ca_pem holds no PEM certificate", ErrBadTLS)
		}
		mode = tlsCustomCA
	}
	return &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}, mode, nil
}

// bridge is one connection's TLS side: a loopback listener for rtmp2sink
// and the TLS connection to the server, copied into each other.
type bridge struct {
	ln     net.Listener
	remote *tls.Conn
	local  string // rtmp:// URL of the listener, with the output's path

	wg      sync.WaitGroup
	mu      sync.Mutex
	conn    net.Conn // rtmp2sink's connection, once accepted
	copyErr error
	closed  bool
}

// dialBridge connects to the rtmps URL's server (TLS handshake and
// certificate check included) and listens for rtmp2sink on loopback.
func dialBridge(ctx context.Context, raw string, cfg *tls.Config) (*bridge, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadURL, err)
	}
	port := u.Port()
	if port == "" {
		port = "443"
	}
	addr := net.JoinHostPort(u.Hostname(), port)
	c := cfg.Clone()
	c.ServerName = u.Hostname()
	dctx, cancel := context.WithTimeout(ctx, tlsDialTimeout)
	defer cancel()
	conn, err := (&tls.Dialer{NetDialer: &net.Dialer{}, Config: c}).DialContext(dctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w%s", ErrTLS, addr, err, tlsHint(err))
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("%w: rtmps bridge listener: %w", ErrPipeline, err)
	}
	lu := *u
	lu.Scheme, lu.Host = "rtmp", ln.Addr().String()
	b := &bridge{ln: ln, remote: conn.(*tls.Conn), local: lu.String()}
	b.wg.Add(1)
	go b.serve()
	return b, nil
}

func tlsHint(err error) string {
	var unknown x509.UnknownAuthorityError
	var host x509.HostnameError
	var inv x509.CertificateInvalidError
	switch {
	case errors.As(err, &unknown):
		return " (a self-signed or private CA: give its certificate as ca_pem)"
	case errors.As(err, &host):
		return " (the certificate is not for this host name)"
	case errors.As(err, &inv):
		return " (expired, not yet valid or not for a server)"
	}
	return ""
}

// serve accepts rtmp2sink's one connection and copies both ways until
// either side closes.
func (b *bridge) serve() {
	defer b.wg.Done()
	if tl, ok := b.ln.(*net.TCPListener); ok {
		_ = tl.SetDeadline(time.Now().Add(tlsDialTimeout + stateTimeout))
	}
	conn, err := b.ln.Accept()
	_ = b.ln.Close() // one connection only
	if err != nil {
		b.fail(fmt.Errorf("rtmps bridge: no connection from the sink: %w", err))
		_ = b.remote.Close()
		return
	}
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		_ = conn.Close()
		return
	}
	b.conn = conn
	b.mu.Unlock()
	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn, what string) {
		if _, err := io.Copy(dst, src); err != nil && !errors.Is(err, net.ErrClosed) {
			b.fail(fmt.Errorf("rtmps %s: %w", what, err))
		}
		done <- struct{}{}
	}
	go pipe(b.remote, conn, "send")
	go pipe(conn, b.remote, "receive")
	<-done
	_ = conn.Close()
	_ = b.remote.Close()
	<-done
}

func (b *bridge) fail(err error) {
	b.mu.Lock()
	if b.copyErr == nil && !b.closed {
		b.copyErr = err
	}
	b.mu.Unlock()
}

// err is what went wrong on the TLS side, if anything.
func (b *bridge) err() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.copyErr
}

// close ends both connections and waits for the copies.
func (b *bridge) close() {
	b.mu.Lock()
	b.closed = true
	conn := b.conn
	b.mu.Unlock()
	_ = b.ln.Close()
	_ = b.remote.Close()
	if conn != nil {
		_ = conn.Close()
	}
	b.wg.Wait()
}
