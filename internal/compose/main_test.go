package compose

import (
	"os"
	"testing"
)

var fixtureDir string

func mkdirTemp() (string, error) {
	var err error
	if fixtureDir == "" {
		fixtureDir, err = os.MkdirTemp("", "compose-fixture-")
	}
	return fixtureDir, err
}

func TestMain(m *testing.M) {
	code := m.Run()
	if fixtureDir != "" {
		os.RemoveAll(fixtureDir)
	}
	os.Exit(code)
}
