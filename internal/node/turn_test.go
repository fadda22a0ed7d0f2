package node

import (
	"strings"
	"testing"
)

func TestICEConfig(t *testing.T) {
	for _, tc := range []struct {
		name    string
		cfg     ICEConfig
		servers int
		turn    bool
		err     string
	}{
		{name: "none"},
		{name: "stun", cfg: ICEConfig{Servers: []string{"stun:stun.example.net:3478"}}, servers: 1},
		{name: "external turn", cfg: ICEConfig{Servers: []string{"turn:turn.example.net:3478?transport=udp", "stun:s:1"},
			Username: "u", Credential: "c"}, servers: 2},
		{name: "turn without credentials", cfg: ICEConfig{Servers: []string{"turn:t:3478"}}, err: "--ice-username"},
		{name: "not a URL", cfg: ICEConfig{Servers: []string{"example.net"}}, err: "not a stun: or turn: URL"},
		{name: "wrong scheme", cfg: ICEConfig{Servers: []string{"http://x"}}, err: "scheme"},
		{name: "built-in", cfg: ICEConfig{TURNPort: 3478}, turn: true},
		{name: "port out of range", cfg: ICEConfig{TURNPort: 70000}, err: "out of range"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc2, servers, err := tc.cfg.ingestICE([]byte("token secret"), []string{"203.0.113.7"})
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(servers) != tc.servers {
				t.Errorf("%d servers, want %d", len(servers), tc.servers)
			}
			if (tc2 != nil) != tc.turn {
				t.Fatalf("TURN config %+v, want %v", tc2, tc.turn)
			}
			if tc2 != nil {
				if tc2.Port != 3478 || tc2.PublicIP != "203.0.113.7" || len(tc2.Secret) < 32 ||
					strings.Contains(string(tc2.Secret), "token secret") {
					t.Errorf("TURN config %+v", tc2)
				}
				again, _, _ := tc.cfg.ingestICE([]byte("token secret"), nil)
				if string(again.Secret) != string(tc2.Secret) {
					t.Error("derived TURN secret is not stable")
				}
			}
		})
	}
}
