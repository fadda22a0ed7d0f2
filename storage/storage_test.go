package storage_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/mosaic-rtc/mosaic/internal/testenv"
	"github.com/mosaic-rtc/mosaic/storage"
)

func newClient(t *testing.T) (*storage.Client, *testenv.S3) {
	t.Helper()
	s3 := testenv.StartS3(t)
	c, err := storage.New(storage.Config{
		Endpoint: "http://" + s3.Endpoint, AccessKey: s3.AccessKey, SecretKey: s3.SecretKey,
		Region: s3.Region, Bucket: "mosaic-test", PathStyle: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.EnsureBucket(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.EnsureBucket(ctx); err != nil {
		t.Fatalf("second EnsureBucket: %v", err)
	}
	return c, s3
}

func writeRandom(t *testing.T, dir, name string, size int) (string, string) {
	t.Helper()
	buf := make([]byte, size)
	if _, err := rand.Read(buf); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, buf, 0o644); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(buf)
	return path, hex.EncodeToString(sum[:])
}

func TestRoundTrip(t *testing.T) {
	c, _ := newClient(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir := t.TempDir()

	for _, tc := range []struct {
		name string
		size int
	}{{"small", 1234}, {"multipart", 16<<20 + 3<<20}} {
		t.Run(tc.name, func(t *testing.T) {
			path, sum := writeRandom(t, dir, tc.name+".bin", tc.size)
			key := "recordings/room/rec/" + tc.name + ".bin"
			obj, err := c.PutFile(ctx, key, path, storage.PutOptions{ContentType: "video/mp4"})
			if err != nil {
				t.Fatal(err)
			}
			if obj.Key != key || obj.Size != int64(tc.size) || obj.SHA256 != sum || obj.ETag == "" {
				t.Fatalf("object %+v, want size %d sha %s", obj, tc.size, sum)
			}
			if err := c.Verify(ctx, key, int64(tc.size), sum); err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(dir, tc.name+".down")
			if err := c.Download(ctx, key, out); err != nil {
				t.Fatal(err)
			}
			got, n, err := storage.HashFile(out)
			if err != nil || got != sum || n != int64(tc.size) {
				t.Fatalf("downloaded %d bytes sha %s (%v), want %d %s", n, got, err, tc.size, sum)
			}
		})
	}

	objs, err := c.List(ctx, "recordings/room/rec/")
	if err != nil || len(objs) != 2 {
		t.Fatalf("list: %v %+v", err, objs)
	}
	if err := c.DeletePrefix(ctx, "recordings/room/rec/"); err != nil {
		t.Fatal(err)
	}
	objs, err = c.List(ctx, "recordings/room/")
	if err != nil || len(objs) != 0 {
		t.Fatalf("after DeletePrefix: %v %+v", err, objs)
	}
	if err := c.Delete(ctx, "recordings/room/rec/small.bin"); err != nil {
		t.Fatalf("deleting a missing object: %v", err)
	}
}

func TestVerifyMismatchAndNotFound(t *testing.T) {
	c, _ := newClient(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	path, sum := writeRandom(t, t.TempDir(), "a.bin", 4096)
	if _, err := c.PutFile(ctx, "a.bin", path, storage.PutOptions{SHA256: sum}); err != nil {
		t.Fatal(err)
	}
	if err := c.Verify(ctx, "a.bin", 4095, sum); !errors.Is(err, storage.ErrMismatch) {
		t.Fatalf("wrong size: %v", err)
	}
	other := sha256.Sum256([]byte("other"))
	if err := c.Verify(ctx, "a.bin", 4096, hex.EncodeToString(other[:])); !errors.Is(err, storage.ErrMismatch) {
		t.Fatalf("wrong sha: %v", err)
	}
	if err := c.Verify(ctx, "missing.bin", 1, sum); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("missing: %v", err)
	}
	if _, err := c.Stat(ctx, "missing.bin"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("stat missing: %v", err)
	}
	if err := c.Download(ctx, "missing.bin", filepath.Join(t.TempDir(), "x")); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("download missing: %v", err)
	}
	// A wrong expected checksum is caught while uploading and leaves nothing behind.
	if _, err := c.PutFile(ctx, "b.bin", path, storage.PutOptions{SHA256: hex.EncodeToString(other[:])}); !errors.Is(err, storage.ErrMismatch) {
		t.Fatalf("put with wrong sha: %v", err)
	}
	if _, err := c.Stat(ctx, "b.bin"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("object left after a mismatched put: %v", err)
	}
}

func TestPresignGet(t *testing.T) {
	c, _ := newClient(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	path, sum := writeRandom(t, t.TempDir(), "p.bin", 100_000)
	if _, err := c.PutFile(ctx, "recordings/r/p.bin", path, storage.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	u, err := c.PresignGet(ctx, "recordings/r/p.bin", 10*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	got := sha256.Sum256(body)
	if resp.StatusCode != 200 || hex.EncodeToString(got[:]) != sum {
		t.Fatalf("presigned GET: status %d, %d bytes", resp.StatusCode, len(body))
	}
	if _, err := c.PresignGet(ctx, "recordings/r/p.bin", 8*24*time.Hour); err == nil {
		t.Fatal("ttl above 7 days accepted")
	}
}

func TestBadKeys(t *testing.T) {
	c, err := storage.New(storage.Config{Endpoint: "127.0.0.1:1", AccessKey: "a", SecretKey: "b", Bucket: "x"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	path, _ := writeRandom(t, t.TempDir(), "k.bin", 10)
	for _, key := range []string{"", "/abs", "a/../b", "..", "a/./b", "a//b", "a\x00b", "a\nb", "a\\b", "x/\x7f"} {
		if _, err := c.PutFile(ctx, key, path, storage.PutOptions{}); !errors.Is(err, storage.ErrBadKey) {
			t.Errorf("PutFile(%q): %v", key, err)
		}
		if _, err := c.Stat(ctx, key); !errors.Is(err, storage.ErrBadKey) {
			t.Errorf("Stat(%q): %v", key, err)
		}
		if err := c.Delete(ctx, key); !errors.Is(err, storage.ErrBadKey) {
			t.Errorf("Delete(%q): %v", key, err)
		}
	}
	if err := c.DeletePrefix(ctx, ""); !errors.Is(err, storage.ErrBadKey) {
		t.Errorf("DeletePrefix(\"\"): %v", err)
	}
	for _, key := range []string{"recordings/room/rec_0123/seg-00001.mp4", "a", "a/b/c.json"} {
		if err := storage.ValidKey(key); err != nil {
			t.Errorf("ValidKey(%q): %v", key, err)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	for _, cfg := range []storage.Config{
		{},
		{Endpoint: "ftp://x", AccessKey: "a", SecretKey: "b", Bucket: "x"},
		{Endpoint: "http://h:1/path", AccessKey: "a", SecretKey: "b", Bucket: "x"},
		{Endpoint: "h:1", AccessKey: "a", SecretKey: "b"},
		{Endpoint: "h:1", Bucket: "x"},
	} {
		if _, err := storage.New(cfg); !errors.Is(err, storage.ErrConfig) {
			t.Errorf("New(%+v): %v", cfg, err)
		}
	}
}

func TestHealthy(t *testing.T) {
	c, s3 := newClient(t)
	ctx := context.Background()
	if err := c.Healthy(ctx); err != nil {
		t.Fatal(err)
	}
	s3.Stop()
	if err := c.Healthy(ctx); err == nil {
		t.Fatal("healthy with the store stopped")
	}
}

// TestMultipartInParallel puts a file of several parts, sent a few at a
// time and one at a time, and gets back exactly its bytes.
func TestMultipartInParallel(t *testing.T) {
	_, s3 := newClient(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir := t.TempDir()
	path, sum := writeRandom(t, dir, "big.bin", 17<<20+12345)
	for _, threads := range []int{3, 1} {
		c, err := storage.New(storage.Config{
			Endpoint: "http://" + s3.Endpoint, AccessKey: s3.AccessKey, SecretKey: s3.SecretKey,
			Region: s3.Region, Bucket: "mosaic-test", PathStyle: true, PartSize: 5 << 20, Threads: threads,
		})
		if err != nil {
			t.Fatal(err)
		}
		key := "multi/" + string(rune('a'+threads))
		obj, err := c.PutFile(ctx, key, path, storage.PutOptions{})
		if err != nil {
			t.Fatalf("%d threads: %v", threads, err)
		}
		if obj.Size != 17<<20+12345 || obj.SHA256 != sum {
			t.Fatalf("%d threads: stored %+v, want sha256 %s", threads, obj, sum)
		}
		back := filepath.Join(dir, key)
		if err := c.Download(ctx, key, back); err != nil {
			t.Fatal(err)
		}
		got, n, err := storage.HashFile(back)
		if err != nil || got != sum || n != obj.Size {
			t.Fatalf("%d threads: downloaded %d bytes sha256 %s (%v), want %s", threads, n, got, err, sum)
		}
	}
}
