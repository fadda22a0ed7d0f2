package ingest

import (
	"errors"
	"log/slog"

	"github.com/mosaic-rtc/mosaic/internal/auth"
	"github.com/pion/webrtc/v4"
)

// DefaultMaxBodyBytes caps SDP offers and trickle fragments.
const DefaultMaxBodyBytes = 64 << 10

// Config configures a Server.
type Config struct {
	// MediaPort is the one UDP port of every session (ICE UDP mux) and the
	// TCP port for ICE-TCP. Zero picks a free port (see Server.MediaPort).
	MediaPort int
	// PublicIPs are announced as 1:1 NAT host candidates. Empty: loopback
	// and the local interface addresses.
	PublicIPs []string
	// ICEServers are advertised to clients in Link headers.
	ICEServers []webrtc.ICEServer
	// TURN, when set, runs the built-in TURN server and advertises it
	// with per-client credentials.
	TURN   *TURNConfig
	Issuer *auth.Issuer
	Rooms  Rooms
	// MaxBodyBytes caps request bodies; default DefaultMaxBodyBytes.
	MaxBodyBytes int64
	Log          *slog.Logger
}

func (c *Config) validate() error {
	if c.Issuer == nil {
		return errors.New("ingest: config needs an Issuer")
	}
	if c.Rooms == nil {
		return errors.New("ingest: config needs Rooms")
	}
	if c.MediaPort < 0 || c.MediaPort > 65535 {
		return errors.New("ingest: media port out of range")
	}
	if c.MaxBodyBytes <= 0 {
		c.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if c.Log == nil {
		c.Log = slog.Default()
	}
	return nil
}
