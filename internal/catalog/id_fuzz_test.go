package catalog_test

import (
	"strings"
	"testing"

	"github.com/mosaic-rtc/mosaic/internal/catalog"
)

func FuzzValidID(f *testing.F) {
	for _, s := range []string{catalog.NewID(), "rec_../../etc/passwd", "rec_0123456789abcdef", "rec_0123456789abcdef\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		if !catalog.ValidID(id) {
			return
		}
		if !strings.HasPrefix(id, "rec_") || strings.ContainsAny(id, "/\\.\x00\n ") || len(id) > 44 {
			t.Fatalf("accepted %q", id)
		}
	})
}

func FuzzValidRoom(f *testing.F) {
	for _, s := range []string{"room-1", "..", "a/b", "a..b", ".x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, room string) {
		if !catalog.ValidRoom(room) {
			return
		}
		if strings.ContainsAny(room, "/\\\x00\n ") || strings.Contains(room, "..") || strings.HasPrefix(room, ".") || len(room) > 128 {
			t.Fatalf("accepted %q", room)
		}
	})
}
