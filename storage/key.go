package storage

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

const maxKeyLen = 1024

// ValidKey reports whether key is acceptable as an object key: non-empty,
// valid UTF-8, at most 1024 bytes, no leading "/", no "." or ".." path
// element, no empty element and no control characters.
func ValidKey(key string) error {
	if key == "" || len(key) > maxKeyLen || !utf8.ValidString(key) {
		return fmt.Errorf("%w: %q", ErrBadKey, key)
	}
	if strings.HasPrefix(key, "/") || strings.Contains(key, "\\") {
		return fmt.Errorf("%w: %q", ErrBadKey, key)
	}
	for _, r := range key {
		if unicode.IsControl(r) {
			return fmt.Errorf("%w: control character in %q", ErrBadKey, key)
		}
	}
	for _, elem := range strings.Split(key, "/") {
		if elem == "." || elem == ".." {
			return fmt.Errorf("%w: %q", ErrBadKey, key)
		}
	}
	if strings.Contains(strings.TrimSuffix(key, "/"), "//") {
		return fmt.Errorf("%w: empty path element in %q", ErrBadKey, key)
	}
	return nil
}

// validPrefix accepts "" (everything) or a key-like prefix.
func validPrefix(prefix string) error {
	if prefix == "" {
		return nil
	}
	return ValidKey(prefix)
}
