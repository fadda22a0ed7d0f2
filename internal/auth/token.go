// Package auth mints and checks Mosaic's access tokens: HS256 JWTs that carry
// a room, an identity, a role and an expiry.
package auth

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Role is what a token lets its holder do.
type Role string

const (
	RolePublish Role = "publish"
	RoleView    Role = "view"
	RoleAdmin   Role = "admin"
)

// AnyRoom in a token's room claim opens every room (admin tokens by default).
const AnyRoom = "*"

var (
	ErrMissing     = errors.New("missing bearer token")
	ErrInvalid     = errors.New("invalid token")
	ErrExpired     = errors.New("token expired")
	ErrWrongRoom   = errors.New("token is not valid for this room")
	ErrWrongRole   = errors.New("token role does not allow this")
	ErrUnknownRole = errors.New("unknown role")
)

// ParseRole accepts publish, view or admin.
func ParseRole(s string) (Role, error) {
	switch Role(s) {
	case RolePublish, RoleView, RoleAdmin:
		return Role(s), nil
	}
	return "", fmt.Errorf("%w %q (want publish, view or admin)", ErrUnknownRole, s)
}

// Claims are the token's payload.
type Claims struct {
	Room     string `json:"room"`
	Identity string `json:"identity,omitempty"`
	Role     Role   `json:"role"`
	jwt.RegisteredClaims
}

// Issuer signs and verifies tokens with one secret.
type Issuer struct {
	secret []byte
	now    func() time.Time
}

// NewIssuer returns an issuer for the secret (at least 16 bytes).
func NewIssuer(secret []byte) (*Issuer, error) {
	if len(secret) < 16 {
		return nil, fmt.Errorf("token secret too short: %d bytes, need at least 16", len(secret))
	}
	return &Issuer{secret: secret, now: time.Now}, nil
}

// Mint signs a token for room, identity and role that expires after ttl.
func (i *Issuer) Mint(room, identity string, role Role, ttl time.Duration) (string, error) {
	if _, err := ParseRole(string(role)); err != nil {
		return "", err
	}
	if room == "" {
		return "", errors.New("token needs a room (or * for all rooms)")
	}
	if ttl <= 0 {
		return "", errors.New("token ttl must be positive")
	}
	now := i.now()
	c := Claims{
		Room: room, Identity: identity, Role: role,
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    "mosaic",
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
		},
	}
	return jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(i.secret)
}

// Parse verifies a token's signature and expiry and returns its claims.
func (i *Issuer) Parse(token string) (*Claims, error) {
	if token == "" {
		return nil, ErrMissing
	}
	var c Claims
	_, err := jwt.ParseWithClaims(token, &c, func(t *jwt.Token) (any, error) {
		return i.secret, nil
	}, jwt.WithValidMethods([]string{"HS256"}), jwt.WithTimeFunc(i.now), jwt.WithExpirationRequired())
	if err != nil {
		if errors.Is(err, jwt.ErrTokenExpired) {
			return nil, ErrExpired
		}
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if _, err := ParseRole(string(c.Role)); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	return &c, nil
}

// Authorize parses the token and checks it opens room for the role. Admin
// tokens may do anything in the rooms they name.
func (i *Issuer) Authorize(token, room string, role Role) (*Claims, error) {
	c, err := i.Parse(token)
	if err != nil {
		return nil, err
	}
	if c.Room != AnyRoom && c.Room != room {
		return nil, ErrWrongRoom
	}
	if c.Role != role && c.Role != RoleAdmin {
		return nil, fmt.Errorf("%w: token role is %s, need %s", ErrWrongRole, c.Role, role)
	}
	return c, nil
}

// BearerToken extracts the token from an Authorization header value.
func BearerToken(header string) string {
	const p = "bearer "
	if len(header) > len(p) && strings.EqualFold(header[:len(p)], p) {
		return strings.TrimSpace(header[len(p):])
	}
	return ""
}

// LoadOrCreateSecret reads the secret from dataDir/secret, creating it (32
// random bytes, hex) on first use so that serve and token agree.
func LoadOrCreateSecret(dataDir string) ([]byte, error) {
	path := filepath.Join(dataDir, "secret")
	b, err := os.ReadFile(path)
	if err == nil {
		s := strings.TrimSpace(string(b))
		if s == "" {
			return nil, fmt.Errorf("secret file %s is empty", path)
		}
		return []byte(s), nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("read secret: %w", err)
	}
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return nil, err
	}
	s := hex.EncodeToString(raw)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, os.ErrExist) { // another process made it first
			return LoadOrCreateSecret(dataDir)
		}
		return nil, fmt.Errorf("create secret: %w", err)
	}
	defer f.Close()
	if _, err := f.WriteString(s + "\n"); err != nil {
		return nil, fmt.Errorf("write secret: %w", err)
	}
	return []byte(s), nil
}
