package catalog

import (
	"crypto/rand"
	"encoding/base32"
	"encoding/binary"
	"strings"
	"time"
)

var idEncoding = base32.NewEncoding("0123456789abcdefghijklmnopqrstuv").WithPadding(base32.NoPadding)

// NewID returns a fresh recording ID: "rec_" followed by 24 base32 digits
// (48 bits of milliseconds, so IDs sort by creation time, then 72 random
// bits).
func NewID() string {
	var b [15]byte
	ms := uint64(time.Now().UnixMilli())
	var t [8]byte
	binary.BigEndian.PutUint64(t[:], ms)
	copy(b[:6], t[2:])
	_, _ = rand.Read(b[6:]) // crypto/rand.Read never fails on Linux (Go ≥1.24 it cannot return an error)
	return "rec_" + strings.ToLower(idEncoding.EncodeToString(b[:]))
}
