package main

import (
	"github.com/spf13/pflag"

	"github.com/mosaic-rtc/mosaic/internal/node"
)

// iceFlags are the serve flags for TURN and external ICE servers.
func iceFlags(f *pflag.FlagSet, c *node.ICEConfig) {
	f.IntVar(&c.TURNPort, "turn-port", 0, "UDP port of the built-in TURN server (0: off)")
	f.StringVar(&c.TURNRealm, "turn-realm", "mosaic", "realm of the built-in TURN server")
	f.StringVar(&c.TURNSecret, "turn-secret", "", "key of the built-in TURN server's credentials (default: derived from the token secret)")
	f.StringArrayVar(&c.Servers, "ice-server", nil, "external STUN/TURN URL advertised to clients, e.g. turn:host:3478?transport=udp (repeatable)")
	f.StringVar(&c.Username, "ice-username", "", "username for the external turn: servers")
	f.StringVar(&c.Credential, "ice-credential", "", "credential for the external turn: servers")
}
