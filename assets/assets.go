// Package assets holds Mosaic's web pages and layout media, embedded into the
// binary.
package assets

import (
	"embed"
	"io/fs"
	"net/http"
)

//go:embed web
var files embed.FS

// FS is the web root.
func FS() fs.FS {
	sub, err := fs.Sub(files, "web")
	if err != nil {
		panic(err) // the embed pattern guarantees the directory
	}
	return sub
}

// Handler serves the pages; "/" is the home page.
func Handler() http.Handler {
	fsrv := http.FileServerFS(FS())
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		fsrv.ServeHTTP(w, r)
	})
}
