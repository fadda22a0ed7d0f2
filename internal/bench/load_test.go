package bench_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mosaic-rtc/mosaic/internal/auth"
	"github.com/mosaic-rtc/mosaic/internal/bench"
	"github.com/mosaic-rtc/mosaic/internal/node"
	"github.com/mosaic-rtc/mosaic/internal/testenv"
)

func TestLoadBadConfig(t *testing.T) {
	for name, cfg := range map[string]bench.LoadConfig{
		"no server":      {Clip: "x.webm"},
		"no clip":        {Server: "http://127.0.0.1:1"},
		"too many rooms": {Server: "http://127.0.0.1:1", Clip: "x", Rooms: 51},
		"viewers < 0":    {Server: "http://127.0.0.1:1", Clip: "x", Viewers: -1},
		"too many peers": {Server: "http://127.0.0.1:1", Clip: "x", Rooms: 20, Publishers: 16},
		"short":          {Server: "http://127.0.0.1:1", Clip: "x", Duration: time.Millisecond},
	} {
		if _, err := bench.RunLoad(context.Background(), cfg); !errors.Is(err, bench.ErrBadConfig) {
			t.Errorf("%s: %v, want ErrBadConfig", name, err)
		}
	}
}

// A real node with room for one room: the room's viewer gets the composite
// at about the node's frame rate, and one more room is refused with 503.
func TestLoadAgainstNode(t *testing.T) {
	s3 := testenv.StartS3(t)
	const secret = "bench-load-test-secret-0123456789"
	redisURL := testenv.Redis(t)
	var n *node.Node
	var err error
	for try := 0; try < 3; try++ { // a free UDP port may be taken for TCP: pick again
		n, err = node.Start(context.Background(), node.Config{
			Listen: fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t)), MediaPort: testenv.FreeUDPPort(t), DataDir: t.TempDir(),
			RedisURL: redisURL, S3Endpoint: s3.Endpoint, S3AccessKey: s3.AccessKey, S3SecretKey: s3.SecretKey,
			S3Region: s3.Region, Secret: secret, Width: 320, Height: 180, FPS: 15, VideoBitrateKbps: 300,
			Cluster: node.ClusterConfig{MaxRooms: 1, MaxCPU: 1}, WorkerConcurrency: 0,
			Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		})
		if err == nil || !strings.Contains(err.Error(), "address already in use") {
			break
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = n.Close(ctx)
	})
	admin, err := n.Issuer.Mint(auth.AnyRoom, "bench", auth.RoleAdmin, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	res, err := bench.RunLoad(context.Background(), bench.LoadConfig{Server: n.URL(), Token: admin,
		Rooms: 1, Publishers: 1, Viewers: 1, Duration: 5 * time.Second, FPS: 15,
		Clip: filepath.Join(testenv.Inputs(t), "p1.webm")})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rooms) != 1 {
		t.Fatalf("rooms: %+v", res.Rooms)
	}
	r := res.Rooms[0]
	t.Logf("room %+v; probe %q; nodes %+v; breaks %q", r, res.Probe, res.Nodes, res.Breaks)
	if r.Node != strings.TrimPrefix(n.URL(), "http://") || r.Publishers != 1 || r.Viewers != 1 {
		t.Fatalf("room %+v: want served by %s with its publisher and viewer", r, n.URL())
	}
	if r.FPS < 7 || r.FPS > 17 {
		t.Fatalf("composite at %.1f fps, the node makes 15", r.FPS)
	}
	if !strings.HasPrefix(res.Probe, "refused 503, Retry-After 5") {
		t.Fatalf("one more room on a node with --max-rooms 1: %q", res.Probe)
	}
	if len(res.Nodes) != 1 || res.Nodes[0].Rooms < 1 || res.Nodes[0].Participants != 1 {
		t.Fatalf("announced nodes %+v", res.Nodes)
	}
}
