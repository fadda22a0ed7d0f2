package node

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/hibiken/asynq"
	"github.com/hibiken/asynqmon"

	"github.com/mosaic-rtc/mosaic/internal/api"
	"github.com/mosaic-rtc/mosaic/internal/auth"
)

const (
	// queuesPath is where the job queue UI lives.
	queuesPath = "/admin/queues/"
	// adminCookie carries the admin token for the queue UI's own requests.
	adminCookie = "mosaic_admin"
)

// queueRoutes mounts asynqmon (queues, task counts, archived tasks) for
// admin tokens of any room. Its handler is closed when ctx ends.
func (n *Node) queueRoutes(ctx context.Context, mux *http.ServeMux) {
	o := n.rdb.Options()
	mon := asynqmon.New(asynqmon.Options{
		RootPath:     queuesPath,
		RedisConnOpt: asynq.RedisClientOpt{Network: o.Network, Addr: o.Addr, Username: o.Username, Password: o.Password, DB: o.DB},
	})
	n.goBackground(ctx, func(ctx context.Context) error {
		<-ctx.Done()
		return mon.Close()
	})
	mux.Handle(queuesPath, n.adminOnly(mon))
}

// adminOnly lets requests through with an admin token for any room, given
// as Authorization: Bearer, as the cookie, or once as ?token= (then kept in
// an HttpOnly cookie and redirected away so it leaves the address bar).
func (n *Node) adminOnly(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if tok := r.URL.Query().Get("token"); tok != "" {
			if err := n.checkAdmin(tok); err != nil {
				writeAuthError(w, err)
				return
			}
			http.SetCookie(w, &http.Cookie{Name: adminCookie, Value: tok, Path: queuesPath,
				HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
			u := *r.URL
			q := u.Query()
			q.Del("token")
			u.RawQuery = q.Encode()
			http.Redirect(w, r, u.RequestURI(), http.StatusSeeOther)
			return
		}
		tok := auth.BearerToken(r.Header.Get("Authorization"))
		if tok == "" {
			if c, err := r.Cookie(adminCookie); err == nil {
				tok = c.Value
			}
		}
		if err := n.checkAdmin(tok); err != nil {
			writeAuthError(w, err)
			return
		}
		h.ServeHTTP(w, r)
	})
}

func (n *Node) checkAdmin(tok string) error {
	c, err := n.Issuer.Parse(tok)
	switch {
	case err != nil:
		return err
	case c.Role != auth.RoleAdmin:
		return fmt.Errorf("%w: token role is %s, need admin", auth.ErrWrongRole, c.Role)
	case c.Room != auth.AnyRoom:
		return fmt.Errorf("%w: the queues need an admin token for every room (*)", auth.ErrWrongRoom)
	}
	return nil
}

func writeAuthError(w http.ResponseWriter, err error) {
	if errors.Is(err, auth.ErrWrongRole) || errors.Is(err, auth.ErrWrongRoom) {
		api.WriteError(w, http.StatusForbidden, err.Error())
		return
	}
	w.Header().Set("WWW-Authenticate", `Bearer realm="mosaic"`)
	api.WriteError(w, http.StatusUnauthorized, err.Error()+" (open "+queuesPath+"?token=<admin token>)")
}
