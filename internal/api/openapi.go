package api

import (
	_ "embed"
	"net/http"
)

// openAPI describes every HTTP route of a node: the JSON API, WHIP/WHEP,
// health, metrics, the queue UI and the pages. A test checks it against the
// routes the node's mux really has, both ways.
//
//go:embed openapi.json
var openAPI []byte

// OpenAPI is the OpenAPI 3 document of the node's HTTP interface.
func OpenAPI() []byte { return openAPI }

func serveOpenAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-cache")
	_, _ = w.Write(openAPI)
}
