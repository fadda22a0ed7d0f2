// Command warm anchors the project's planned dependencies in go.mod while
// packages are being written; it is removed once every package imports its own.
package main

import (
	_ "github.com/at-wat/ebml-go/webm"
	_ "github.com/chromedp/chromedp"
	_ "github.com/go-gst/go-gst/gst"
	_ "github.com/go-gst/go-gst/gst/app"
	_ "github.com/go-gst/go-gst/gst/video"
	_ "github.com/golang-jwt/jwt/v5"
	_ "github.com/google/uuid"
	_ "github.com/hibiken/asynq"
	_ "github.com/hibiken/asynqmon"
	_ "github.com/minio/minio-go/v7"
	_ "github.com/pion/interceptor"
	_ "github.com/pion/interceptor/pkg/nack"
	_ "github.com/pion/mediadevices"
	_ "github.com/pion/rtcp"
	_ "github.com/pion/rtp"
	_ "github.com/pion/sdp/v3"
	_ "github.com/pion/turn/v4"
	_ "github.com/pion/webrtc/v4"
	_ "github.com/prometheus/client_golang/prometheus"
	_ "github.com/redis/go-redis/v9"
	_ "github.com/schollz/progressbar/v3"
	_ "github.com/spf13/cobra"
	_ "github.com/versity/versitygw/backend/posix"
	_ "github.com/versity/versitygw/embedgw"
	_ "go.uber.org/goleak"
)

func main() {}
