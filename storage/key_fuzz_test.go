package storage_test

import (
	"strings"
	"testing"
	"unicode"

	"github.com/mosaic-rtc/mosaic/storage"
)

func FuzzValidKey(f *testing.F) {
	for _, s := range []string{"recordings/r/rec_0/seg-00001.mp4", "../x", "a/../b", "/x", "a//b", "a\x00", "é/ü", "a/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, key string) {
		if storage.ValidKey(key) != nil {
			return
		}
		if key == "" || strings.HasPrefix(key, "/") || strings.Contains(key, "\\") {
			t.Fatalf("accepted %q", key)
		}
		for _, elem := range strings.Split(key, "/") {
			if elem == ".." || elem == "." {
				t.Fatalf("accepted %q with a dot element", key)
			}
		}
		for _, r := range key {
			if unicode.IsControl(r) {
				t.Fatalf("accepted %q with a control character", key)
			}
		}
	})
}
