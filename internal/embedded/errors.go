package embedded

import "errors"

var (
	// ErrS3Running is returned by StartS3 while another embedded S3 server
	// runs in this process (the gateway supports one per process).
	ErrS3Running = errors.New("embedded: an S3 server already runs in this process")
	// ErrNotReady is returned when a server does not answer in time.
	ErrNotReady = errors.New("embedded: server did not become ready")
	// ErrExited is returned when a server stops on its own during startup.
	ErrExited = errors.New("embedded: server exited")
	// ErrConfig is returned for an unusable configuration.
	ErrConfig = errors.New("embedded: invalid configuration")
)
