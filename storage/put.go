package storage

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"os"
	"strings"

	"github.com/minio/minio-go/v7"
)

// PutOptions tunes PutFile.
type PutOptions struct {
	ContentType string
	// SHA256 is the expected hex SHA-256 of the file, if the caller knows it.
	// The bytes actually sent are hashed and compared with it; on a
	// difference the object is removed and ErrMismatch returned.
	SHA256 string
}

// PutFile uploads the file at path under key (multipart above the part
// size, Config.Threads parts at a time), records its SHA-256 in the object's metadata, and confirms the
// stored size and checksum before returning.
func (c *Client) PutFile(ctx context.Context, key, path string, opts PutOptions) (Object, error) {
	if err := ValidKey(key); err != nil {
		return Object{}, err
	}
	f, err := os.Open(path)
	if err != nil {
		return Object{}, fmt.Errorf("storage: put %q: %w", key, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return Object{}, fmt.Errorf("storage: put %q: %w", key, err)
	}
	if !st.Mode().IsRegular() {
		return Object{}, fmt.Errorf("storage: put %q: %s is not a regular file", key, path)
	}
	size := st.Size()

	want := strings.ToLower(opts.SHA256)
	if want == "" {
		want, err = hashReader(f)
		if err != nil {
			return Object{}, fmt.Errorf("storage: put %q: hash %s: %w", key, path, err)
		}
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return Object{}, fmt.Errorf("storage: put %q: %w", key, err)
		}
	} else if !validHex256(want) {
		return Object{}, fmt.Errorf("storage: put %q: %w: bad sha256 %q", key, ErrMismatch, opts.SHA256)
	}

	ct := opts.ContentType
	if ct == "" {
		ct = "application/octet-stream"
	}
	// The reader hides io.ReaderAt so parts are read in order and every
	// byte sent passes through the hash.
	hr := &hashingReader{r: f, h: sha256.New()}
	_, err = c.mc.PutObject(ctx, c.bucket, key, hr, size, minio.PutObjectOptions{
		ContentType:    ct,
		UserMetadata:   map[string]string{metaSHA256: want},
		PartSize:       c.partSize,
		AutoChecksum:   minio.ChecksumCRC32C,
		SendContentMd5: false,
		// Parts are read one after the other and sent in parallel.
		NumThreads:            uint(c.threads),
		ConcurrentStreamParts: c.threads > 1 && uint64(size) > c.partSize,
	})
	if err != nil {
		return Object{}, decode("storage: put", key, err)
	}
	if hr.n != size {
		_ = c.Delete(context.WithoutCancel(ctx), key)
		return Object{}, fmt.Errorf("storage: put %q: %w: sent %d bytes of %d", key, ErrMismatch, hr.n, size)
	}
	if sent := hex.EncodeToString(hr.h.Sum(nil)); sent != want {
		_ = c.Delete(context.WithoutCancel(ctx), key)
		return Object{}, fmt.Errorf("storage: put %q: %w: sent sha256 %s, expected %s", key, ErrMismatch, sent, want)
	}
	if err := c.Verify(ctx, key, size, want); err != nil {
		return Object{}, err
	}
	return c.Stat(ctx, key)
}

type hashingReader struct {
	r io.Reader
	h hash.Hash
	n int64
}

func (r *hashingReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	r.h.Write(p[:n])
	r.n += int64(n)
	return n, err
}

func hashReader(r io.Reader) (string, error) {
	h := sha256.New()
	if _, err := io.Copy(h, r); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// HashFile returns the hex SHA-256 and size of the file at path.
func HashFile(path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", 0, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

func validHex256(s string) bool {
	if len(s) != 64 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}
