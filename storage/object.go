package storage

import (
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
)

// Object describes a stored object.
type Object struct {
	Key  string `json:"key"`
	Size int64  `json:"size"`
	// SHA256 is the hex SHA-256 recorded at upload; empty when unknown
	// (listings do not carry it).
	SHA256       string    `json:"sha256,omitempty"`
	ETag         string    `json:"etag,omitempty"`
	ContentType  string    `json:"content_type,omitempty"`
	LastModified time.Time `json:"last_modified"`
}

func objectFromInfo(info minio.ObjectInfo) Object {
	o := Object{
		Key:          info.Key,
		Size:         info.Size,
		ETag:         strings.Trim(info.ETag, `"`),
		ContentType:  info.ContentType,
		LastModified: info.LastModified,
	}
	for k, v := range info.UserMetadata {
		if strings.EqualFold(k, metaSHA256) || strings.EqualFold(k, "X-Amz-Meta-"+metaSHA256) {
			o.SHA256 = strings.ToLower(v)
		}
	}
	return o
}
