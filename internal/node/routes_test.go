package node

import (
	"context"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/mosaic-rtc/mosaic/ingest"
	"github.com/mosaic-rtc/mosaic/internal/api"
	"github.com/mosaic-rtc/mosaic/internal/auth"
	"github.com/mosaic-rtc/mosaic/internal/room"
	"github.com/mosaic-rtc/mosaic/internal/testenv"
)

// TestRoutesDocumented holds the node's mux and api/openapi.json to each
// other: every pattern registered on a mux in the route packages is
// documented, every documented operation reaches its own pattern on the
// node's real mux, and the source's patterns are the ones the mux has.
func TestRoutesDocumented(t *testing.T) {
	var doc struct {
		Paths    map[string]map[string]json.RawMessage `json:"paths"`
		CatchAll map[string]string                     `json:"x-catch-all"`
	}
	if err := json.Unmarshal(api.OpenAPI(), &doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	mux := testMux(t)
	registered := sourcePatterns(t)
	if len(registered) < 20 {
		t.Fatalf("found only %d route patterns; the scan is broken", len(registered))
	}

	// Registered → documented, and the source's view is the mux's.
	for _, pat := range registered {
		method, path := splitPattern(pat)
		switch {
		case method != "":
			if _, ok := doc.Paths[path][strings.ToLower(method)]; !ok {
				t.Errorf("route %q is registered but openapi.json has no %s operation on %s", pat, strings.ToLower(method), path)
			}
		default:
			_, isPath := doc.Paths[path]
			_, isCatchAll := doc.CatchAll[path]
			if !isPath && !isCatchAll {
				t.Errorf("route %q is registered but is neither a path nor in x-catch-all of openapi.json", pat)
			}
		}
		if got := muxPattern(mux, orGET(method), path); got != pat {
			t.Errorf("source registers %q, but the node's mux routes %s %s to %q", pat, orGET(method), sample(path), got)
		}
	}

	// Documented → registered.
	known := map[string]bool{}
	for _, p := range registered {
		known[p] = true
	}
	ops := 0
	for path, item := range doc.Paths {
		for m := range item {
			if m == "parameters" {
				continue
			}
			ops++
			method := strings.ToUpper(m)
			got := muxPattern(mux, method, path)
			_, subtree := doc.Paths[got]
			switch {
			case got == method+" "+path, got == path:
			case doc.CatchAll[got] != "":
				t.Errorf("documented %s %s falls into the catch-all %q: it is not really served", method, path, got)
			case subtree && strings.HasSuffix(got, "/") && strings.HasPrefix(path, got):
				// served by a documented subtree (the pages under "/")
			default:
				t.Errorf("documented %s %s, but the node's mux routes it to %q", method, path, got)
			}
			if !known[got] {
				t.Errorf("documented %s %s reaches pattern %q, which the source scan did not find", method, path, got)
			}
		}
	}
	if ops < 30 {
		t.Fatalf("openapi.json has only %d operations", ops)
	}
}

// TestOpenAPIServed: the document is served as JSON and is OpenAPI 3.
func TestOpenAPIServed(t *testing.T) {
	rec := httptest.NewRecorder()
	testMux(t).ServeHTTP(rec, httptest.NewRequest("GET", "/api/openapi.json", nil))
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("GET /api/openapi.json = %d %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	var doc map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if v, _ := doc["openapi"].(string); !strings.HasPrefix(v, "3.") {
		t.Fatalf("openapi = %v", doc["openapi"])
	}
	// Every $ref points at a defined schema.
	schemas := doc["components"].(map[string]any)["schemas"].(map[string]any)
	for _, m := range regexp.MustCompile(`"#/components/schemas/([A-Za-z]+)"`).FindAllSubmatch(api.OpenAPI(), -1) {
		if _, ok := schemas[string(m[1])]; !ok {
			t.Errorf("$ref to undefined schema %s", m[1])
		}
	}
}

// testMux is the node's mux over real parts that need no Redis, S3 or media.
func testMux(t *testing.T) *http.ServeMux {
	t.Helper()
	return testMuxRedis(t, &redis.Options{Addr: "127.0.0.1:1"})
}

// testMuxRedis is testMux with the queue UI on a given Redis.
func testMuxRedis(t *testing.T, ropt *redis.Options) *http.ServeMux {
	t.Helper()
	iss, err := auth.NewIssuer([]byte("routes-test-secret-0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	rooms := room.New(room.Config{})
	ing, err := ingest.New(ingest.Config{MediaPort: testenv.FreeUDPPort(t), Issuer: iss, Rooms: rooms})
	if err != nil {
		t.Fatal(err)
	}
	n := &Node{log: testLogger(t), Issuer: iss, rooms: rooms, ingest: ing,
		rdb: redis.NewClient(ropt)}
	ctx, cancel := context.WithCancel(context.Background())
	mux := n.newMux(ctx)
	n.clusterRoutes(mux) // startCluster adds the node API
	t.Cleanup(func() {
		cancel()
		for _, done := range n.bg {
			<-done
		}
		_ = ing.Close()
		cctx, ccancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer ccancel()
		_ = rooms.Close(cctx)
		_ = n.rdb.Close()
	})
	return mux
}

// sourcePatterns reads the patterns registered in every function that
// takes a *http.ServeMux in the module's packages the node is built from,
// expanding loops over string-slice literals. A pattern it cannot read
// fails the test: routes must stay visible to this check.
func sourcePatterns(t *testing.T) []string {
	t.Helper()
	cmd := exec.Command("go", "list", "-deps", "-f", `{{if .Module}}{{if .Module.Main}}{{.Dir}}{{end}}{{end}}`, ".")
	cmd.Dir = filepath.Join(testenv.RepoRoot(), "internal", "node")
	dirs, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	fset := token.NewFileSet()
	var out []string
	for _, dir := range strings.Fields(string(dirs)) {
		files, _ := filepath.Glob(filepath.Join(dir, "*.go"))
		for _, path := range files {
			if strings.HasSuffix(path, "_test.go") {
				continue
			}
			f, err := parser.ParseFile(fset, path, nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			for _, decl := range f.Decls {
				fn, ok := decl.(*ast.FuncDecl)
				if !ok || fn.Body == nil {
					continue
				}
				if muxes := muxParams(fn); len(muxes) > 0 {
					walkRoutes(t, fset, fn.Body, muxes, map[string][]string{}, &out)
				}
			}
		}
	}
	sort.Strings(out)
	return out
}

// muxParams names fn's parameters of type *http.ServeMux.
func muxParams(fn *ast.FuncDecl) map[string]bool {
	out := map[string]bool{}
	for _, f := range fn.Type.Params.List {
		star, ok := f.Type.(*ast.StarExpr)
		if !ok {
			continue
		}
		sel, ok := star.X.(*ast.SelectorExpr)
		if !ok || sel.Sel.Name != "ServeMux" {
			continue
		}
		if pkg, ok := sel.X.(*ast.Ident); !ok || pkg.Name != "http" {
			continue
		}
		for _, n := range f.Names {
			out[n.Name] = true
		}
	}
	return out
}

func walkRoutes(t *testing.T, fset *token.FileSet, n ast.Node, muxes map[string]bool, env map[string][]string, out *[]string) {
	ast.Inspect(n, func(x ast.Node) bool {
		switch x := x.(type) {
		case *ast.RangeStmt:
			id, ok := x.Value.(*ast.Ident)
			lit, isLit := x.X.(*ast.CompositeLit)
			if !ok || !isLit {
				return true
			}
			var vals []string
			for _, e := range lit.Elts {
				vals = append(vals, evalStrings(e, env)...)
			}
			inner := map[string][]string{}
			for k, v := range env {
				inner[k] = v
			}
			inner[id.Name] = vals
			walkRoutes(t, fset, x.Body, muxes, inner, out)
			return false
		case *ast.CallExpr:
			sel, ok := x.Fun.(*ast.SelectorExpr)
			if !ok || (sel.Sel.Name != "Handle" && sel.Sel.Name != "HandleFunc") || len(x.Args) != 2 {
				return true
			}
			if recv, ok := sel.X.(*ast.Ident); !ok || !muxes[recv.Name] {
				return true
			}
			vals := evalStrings(x.Args[0], env)
			if len(vals) == 0 {
				t.Errorf("%s: route pattern is not a string literal (or a constant, or a loop over literals); openapi.json cannot be checked against it", fset.Position(x.Pos()))
			}
			*out = append(*out, vals...)
		}
		return true
	})
}

// evalStrings evaluates string literals, constants of the same file and
// "+" of those; nil if it cannot.
func evalStrings(e ast.Expr, env map[string][]string) []string {
	switch e := e.(type) {
	case *ast.BasicLit:
		if s, err := strconv.Unquote(e.Value); err == nil && e.Kind == token.STRING {
			return []string{s}
		}
	case *ast.Ident:
		if v, ok := env[e.Name]; ok {
			return v
		}
		if e.Obj != nil {
			if vs, ok := e.Obj.Decl.(*ast.ValueSpec); ok {
				for i, n := range vs.Names {
					if n.Name == e.Name && i < len(vs.Values) {
						return evalStrings(vs.Values[i], env)
					}
				}
			}
		}
	case *ast.BinaryExpr:
		if e.Op != token.ADD {
			return nil
		}
		l, r := evalStrings(e.X, env), evalStrings(e.Y, env)
		var out []string
		for _, a := range l {
			for _, b := range r {
				out = append(out, a+b)
			}
		}
		return out
	case *ast.ParenExpr:
		return evalStrings(e.X, env)
	}
	return nil
}

func splitPattern(p string) (method, path string) {
	if m, rest, ok := strings.Cut(p, " "); ok {
		return m, rest
	}
	return "", p
}

func orGET(m string) string {
	if m == "" {
		return "GET"
	}
	return m
}

var wildcard = regexp.MustCompile(`\{[^}]+\}`)

// sample fills a path template's wildcards with a value.
func sample(path string) string {
	return wildcard.ReplaceAllStringFunc(path, func(w string) string {
		if w == "{page}" {
			return "console.html"
		}
		return "x1"
	})
}

// muxPattern is the pattern the mux routes method+path (with samples) to.
func muxPattern(mux *http.ServeMux, method, path string) string {
	req := httptest.NewRequest(method, sample(path), nil)
	_, pat := mux.Handler(req)
	return pat
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}
