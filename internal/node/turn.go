package node

import (
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"strings"

	"github.com/pion/webrtc/v4"

	"github.com/mosaic-rtc/mosaic/ingest"
)

// ICEConfig is how clients reach the media port when direct UDP and TCP
// fail: the built-in TURN server and external STUN/TURN servers (coturn),
// all advertised in the WHIP/WHEP Link headers.
type ICEConfig struct {
	// TURNPort is the built-in TURN server's UDP port; 0 runs none.
	TURNPort  int
	TURNRealm string
	// TURNSecret signs the built-in server's credentials; empty: derived
	// from the token secret. Give coturn the same static-auth-secret to
	// share credentials with it.
	TURNSecret string
	// Servers are external stun:, stuns:, turn: or turns: URLs; the turn
	// ones use Username and Credential.
	Servers              []string
	Username, Credential string
}

// ingestICE turns the configuration into the ingest server's.
func (c ICEConfig) ingestICE(tokenSecret []byte, publicIPs []string) (*ingest.TURNConfig, []webrtc.ICEServer, error) {
	var servers []webrtc.ICEServer
	for _, u := range c.Servers {
		scheme, _, ok := strings.Cut(u, ":")
		switch {
		case !ok:
			return nil, nil, fmt.Errorf("ICE server %q: not a stun: or turn: URL", u)
		case scheme == "stun" || scheme == "stuns":
			servers = append(servers, webrtc.ICEServer{URLs: []string{u}})
		case scheme == "turn" || scheme == "turns":
			if c.Username == "" || c.Credential == "" {
				return nil, nil, fmt.Errorf("ICE server %q needs --ice-username and --ice-credential", u)
			}
			servers = append(servers, webrtc.ICEServer{URLs: []string{u}, Username: c.Username, Credential: c.Credential})
		default:
			return nil, nil, fmt.Errorf("ICE server %q: scheme %q is not stun, stuns, turn or turns", u, scheme)
		}
	}
	if c.TURNPort == 0 {
		return nil, servers, nil
	}
	if c.TURNPort < 0 || c.TURNPort > 65535 {
		return nil, nil, fmt.Errorf("TURN port %d out of range", c.TURNPort)
	}
	secret := []byte(c.TURNSecret)
	if len(secret) == 0 {
		m := hmac.New(sha256.New, tokenSecret)
		m.Write([]byte("mosaic turn credentials"))
		secret = []byte(fmt.Sprintf("%x", m.Sum(nil)))
	}
	tc := &ingest.TURNConfig{Port: c.TURNPort, Realm: c.TURNRealm, Secret: secret}
	if len(publicIPs) > 0 {
		tc.PublicIP = publicIPs[0]
	}
	return tc, servers, nil
}
