package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Configuration comes from flags, then MOSAIC_… variables, then the config
// file, in that order of precedence; a bad value names its source.
func TestConfigPrecedence(t *testing.T) {
	file := filepath.Join(t.TempDir(), "mosaic.conf")
	if err := os.WriteFile(file, []byte("# node settings\nlisten: 0.0.0.0:9000\nmedia-port: 9443\nfps = 25\ndata-dir: /from/file\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("MOSAIC_MEDIA_PORT", "7443")
	t.Setenv("MOSAIC_DATA_DIR", "/from/env")
	cmd := serveCmd()
	if err := cmd.ParseFlags([]string{"--config", file, "--data-dir", "/from/flag"}); err != nil {
		t.Fatal(err)
	}
	if err := prepare(cmd); err != nil {
		t.Fatal(err)
	}
	get := func(name string) string { return cmd.Flags().Lookup(name).Value.String() }
	for name, want := range map[string]string{
		"data-dir":   "/from/flag",   // flag over env and file
		"media-port": "7443",         // env over file
		"listen":     "0.0.0.0:9000", // file over default
		"fps":        "25",           // file, "name = value" form
		"width":      "1280",         // default
	} {
		if got := get(name); got != want {
			t.Errorf("--%s = %q, want %q", name, got, want)
		}
	}

	t.Setenv("MOSAIC_FPS", "fast")
	bad := serveCmd()
	if err := bad.ParseFlags(nil); err != nil {
		t.Fatal(err)
	}
	err := prepare(bad)
	if err == nil || !strings.Contains(err.Error(), "MOSAIC_FPS") {
		t.Fatalf("bad env value: %v, want an error naming MOSAIC_FPS", err)
	}
	if !strings.Contains(serveCmd().Flags().Lookup("media-port").Usage, "MOSAIC_MEDIA_PORT") {
		t.Error("--media-port help does not name its environment variable")
	}
}
