package ingest

import (
	"fmt"
	"strings"

	"github.com/pion/webrtc/v4"
)

// iceServerLinks renders ICE servers as WHIP Link header values (RFC 9725
// section 4.6).
func iceServerLinks(servers []webrtc.ICEServer) []string {
	var out []string
	for _, srv := range servers {
		for _, u := range srv.URLs {
			l := fmt.Sprintf(`<%s>; rel="ice-server"`, u)
			cred, _ := srv.Credential.(string)
			if srv.Username != "" && strings.HasPrefix(u, "turn") {
				l += fmt.Sprintf(`; username=%q; credential=%q; credential-type="password"`, srv.Username, cred)
			}
			out = append(out, l)
		}
	}
	return out
}
