package ingest

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"time"

	"github.com/mosaic-rtc/mosaic/internal/auth"
	"github.com/pion/turn/v4"
	"github.com/pion/webrtc/v4"
)

// TURNConfig configures the built-in TURN server (UDP). Clients get
// time-limited REST-API credentials with their WHIP/WHEP answers:
// username "expiry:identity" (expiry of the token they presented, Unix
// seconds), password base64(HMAC-SHA1(Secret, username)).
type TURNConfig struct {
	// Port is the UDP port of the TURN server; 0 picks a free one.
	Port int
	// Realm defaults to "mosaic".
	Realm string
	// PublicIP is the address of relayed candidates and of the advertised
	// turn: URL. Empty: the first non-loopback IPv4 of this host (else
	// 127.0.0.1) for relays, and the host of the request for the URL.
	PublicIP string
	// Secret signs the credentials; a coturn with the same
	// static-auth-secret accepts them too.
	Secret []byte
}

// turnServer is the running built-in TURN server.
type turnServer struct {
	cfg  TURNConfig
	srv  *turn.Server
	port int
}

// startTURN opens the TURN port; relays may lead to this host's addresses
// and to nodeIPs (the media port's announced public addresses).
func startTURN(cfg TURNConfig, nodeIPs []string, log *slog.Logger) (*turnServer, error) {
	if len(cfg.Secret) == 0 {
		return nil, errors.New("TURN needs a secret")
	}
	if cfg.Port < 0 || cfg.Port > 65535 {
		return nil, fmt.Errorf("TURN port %d out of range", cfg.Port)
	}
	if cfg.Realm == "" {
		cfg.Realm = "mosaic"
	}
	relayIP := net.ParseIP(cfg.PublicIP)
	if cfg.PublicIP != "" && relayIP == nil {
		return nil, fmt.Errorf("TURN public IP %q is not an IP address", cfg.PublicIP)
	}
	if relayIP == nil {
		relayIP = hostIPv4()
	}
	allowed := []net.IP{relayIP}
	for _, s := range nodeIPs {
		if ip := net.ParseIP(s); ip != nil {
			allowed = append(allowed, ip)
		}
	}
	conn, err := net.ListenPacket("udp4", fmt.Sprintf("0.0.0.0:%d", cfg.Port))
	if err != nil {
		return nil, fmt.Errorf("listen TURN port %d: %w", cfg.Port, err)
	}
	lf := pionLogs{log.With("component", "turn")}
	srv, err := turn.NewServer(turn.ServerConfig{
		Realm:         cfg.Realm,
		AuthHandler:   turn.LongTermTURNRESTAuthHandler(string(cfg.Secret), lf.NewLogger("turn")),
		LoggerFactory: lf,
		PacketConnConfigs: []turn.PacketConnConfig{{
			PacketConn:            conn,
			RelayAddressGenerator: &turn.RelayAddressGeneratorStatic{RelayAddress: relayIP, Address: "0.0.0.0"},
			// Relays lead only to this node: no open relay for token holders.
			PermissionHandler: func(_ net.Addr, peer net.IP) bool { return localIP(peer, allowed) },
		}},
	})
	if err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("start TURN server: %w", err)
	}
	t := &turnServer{cfg: cfg, srv: srv, port: conn.LocalAddr().(*net.UDPAddr).Port}
	log.Info("TURN server open", "port", t.port, "relay_ip", relayIP.String(), "realm", cfg.Realm)
	return t, nil
}

func (t *turnServer) close() error {
	if t == nil {
		return nil
	}
	return t.srv.Close()
}

// iceServer is the TURN server as one client sees it: host is where the
// client reached the HTTP API, used when no public IP is configured.
func (t *turnServer) iceServer(c *auth.Claims, host string) (webrtc.ICEServer, bool) {
	if t == nil || c == nil || c.ExpiresAt == nil {
		return webrtc.ICEServer{}, false
	}
	ttl := time.Until(c.ExpiresAt.Time)
	if ttl <= 0 {
		return webrtc.ICEServer{}, false
	}
	id := c.Identity
	if id == "" {
		id = string(c.Role)
	}
	user, pass, err := turn.GenerateLongTermTURNRESTCredentials(string(t.cfg.Secret), id, ttl)
	if err != nil {
		return webrtc.ICEServer{}, false
	}
	if t.cfg.PublicIP != "" {
		host = t.cfg.PublicIP
	}
	url := "turn:" + net.JoinHostPort(host, strconv.Itoa(t.port)) + "?transport=udp"
	return webrtc.ICEServer{URLs: []string{url}, Username: user, Credential: pass}, true
}

// hostIPv4 is the first non-loopback IPv4 of this host, or 127.0.0.1.
func hostIPv4() net.IP {
	addrs, err := net.InterfaceAddrs()
	if err == nil {
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() && n.IP.To4() != nil {
				return n.IP.To4()
			}
		}
	}
	return net.IPv4(127, 0, 0, 1).To4()
}

// localIP reports whether ip is one of this host's addresses or extra.
func localIP(ip net.IP, extra []net.IP) bool {
	if ip.IsLoopback() {
		return true
	}
	for _, e := range extra {
		if ip.Equal(e) {
			return true
		}
	}
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return false
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.Equal(ip) {
			return true
		}
	}
	return false
}
