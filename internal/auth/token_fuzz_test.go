package auth

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// FuzzParse: any string is refused with ErrMissing, ErrInvalid or
// ErrExpired, or accepted with exactly the claims one of the issuer's own
// tokens carries; nothing panics.
func FuzzParse(f *testing.F) {
	iss, err := NewIssuer([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		f.Fatal(err)
	}
	now := time.Now()
	iss.now = func() time.Time { return now }
	minted := map[string]bool{}
	for _, c := range []struct {
		room, id string
		role     Role
		ttl      time.Duration
	}{{"lobby", "alice", RolePublish, time.Hour}, {"*", "ops", RoleAdmin, time.Minute}, {"r", "", RoleView, time.Second}} {
		tok, err := iss.Mint(c.room, c.id, c.role, c.ttl)
		if err != nil {
			f.Fatal(err)
		}
		minted[c.room+"|"+c.id+"|"+string(c.role)] = true
		f.Add(tok)
		parts := strings.Split(tok, ".")
		f.Add(parts[0] + "." + parts[1] + ".")
		f.Add("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0." + parts[1] + ".")             // alg none
		f.Add("eyJhbGciOiJIUzUxMiIsInR5cCI6IkpXVCJ9." + parts[1] + "." + parts[2]) // alg HS512
		f.Add(parts[0] + "." + parts[1] + "x." + parts[2])
	}
	other, _ := NewIssuer([]byte("another-secret-of-32-bytes------"))
	forged, _ := other.Mint("lobby", "mallory", RolePublish, time.Hour)
	f.Add(forged)
	f.Add("")
	f.Add("a.b.c")
	f.Add("....")
	f.Add("eyJ9.eyJ9.")
	f.Fuzz(func(t *testing.T, tok string) {
		c, err := iss.Parse(tok)
		if err != nil {
			if c != nil {
				t.Fatalf("claims with error %v", err)
			}
			if !errors.Is(err, ErrMissing) && !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrExpired) {
				t.Fatalf("token %q: unexpected error %v", tok, err)
			}
			return
		}
		if !minted[c.Room+"|"+c.Identity+"|"+string(c.Role)] {
			t.Fatalf("token %q accepted with claims %+v that were never minted", tok, c)
		}
		if c.ExpiresAt == nil || !c.ExpiresAt.After(now) {
			t.Fatalf("token %q accepted without a future expiry", tok)
		}
	})
}

// FuzzBearerToken: the token is the trimmed rest of a "Bearer " header,
// or empty.
func FuzzBearerToken(f *testing.F) {
	for _, s := range []string{"Bearer abc", "bearer  abc ", "Basic abc", "Bearer", "Bearer ", "BEARER x.y.z", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		tok := BearerToken(h)
		if tok == "" {
			return
		}
		if !strings.EqualFold(h[:7], "bearer ") || !strings.HasSuffix(strings.TrimSpace(h), tok) ||
			strings.TrimSpace(tok) != tok {
			t.Fatalf("header %q gave token %q", h, tok)
		}
	})
}
