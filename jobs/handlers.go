package jobs

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/hibiken/asynq"

	"github.com/mosaic-rtc/mosaic/internal/catalog"
	"github.com/mosaic-rtc/mosaic/storage"
)

// handlers holds what the task handlers share.
type handlers struct {
	store         *storage.Client
	cat           *catalog.Store
	media         Media
	render        Renderer
	comps         *CompositionStore
	post          PostMedia
	renditions    []int
	enq           *Enqueuer
	webhookURL    string
	webhookSecret string
	workDir       string
	http          *http.Client
	log           *slog.Logger
}

func (h *handlers) mux() *asynq.ServeMux {
	mux := asynq.NewServeMux()
	mux.HandleFunc(TypeUpload, h.handleUpload)
	mux.HandleFunc(TypeFinalize, h.handleFinalize)
	mux.HandleFunc(TypeNotify, h.handleNotify)
	mux.HandleFunc(TypeRetention, h.handleRetention)
	mux.HandleFunc(TypeCompose, h.handleCompose)
	mux.HandleFunc(TypePostprocess, h.handlePostprocess)
	return mux
}

// lastAttempt reports whether the running task will not be retried if it
// fails now. A task cut short by shutdown goes back to the queue, so it
// never is.
func lastAttempt(ctx context.Context) bool {
	if ctx.Err() != nil {
		return false
	}
	n, ok1 := asynq.GetRetryCount(ctx)
	max, ok2 := asynq.GetMaxRetry(ctx)
	return ok1 && ok2 && n >= max
}
