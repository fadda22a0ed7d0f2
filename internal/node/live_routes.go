package node

import (
	"context"
	"errors"
	"net/http"

	"github.com/mosaic-rtc/mosaic/internal/api"
	"github.com/mosaic-rtc/mosaic/internal/auth"
	"github.com/mosaic-rtc/mosaic/internal/hls"
	"github.com/mosaic-rtc/mosaic/internal/media"
	"github.com/mosaic-rtc/mosaic/internal/room"
	"github.com/mosaic-rtc/mosaic/internal/rtmp"
)

// liveSources finds a room's composite for the HLS and RTMP outputs.
type liveSources struct{ rooms *room.Registry }

type liveSource struct{ r *room.Room }

func (s liveSource) Output() *media.Stream        { return s.r.Output() }
func (s liveSource) StreamInfo() media.StreamInfo { return s.r.StreamInfo() }

func (l liveSources) source(name string) (liveSource, bool) {
	r, ok := l.rooms.Get(name)
	return liveSource{r}, ok
}

type hlsRooms struct{ liveSources }

func (h hlsRooms) Source(name string) (hls.Source, bool) {
	s, ok := h.source(name)
	return s, ok
}

type rtmpRooms struct{ liveSources }

func (h rtmpRooms) Source(name string) (rtmp.Source, bool) {
	s, ok := h.source(name)
	return s, ok
}

// liveRoutes registers HLS, the RTMP outputs API and the public live status
// of a room; their muxers and pipelines stop when ctx ends (after the rooms
// have closed, which already ends them one by one).
func (n *Node) liveRoutes(ctx context.Context, mux *http.ServeMux) {
	lc := n.cfg.Live
	src := liveSources{n.rooms}
	var hs *hls.Server
	if !lc.HLSDisabled {
		var err error
		hs, err = hls.New(hls.Config{Rooms: hlsRooms{src}, Issuer: n.Issuer, TokenRequired: lc.HLSTokenRequired,
			Muxer: hls.MuxerConfig{SegmentCount: lc.HLSSegmentCount, PartDuration: lc.HLSPartDuration},
			// HLS clients count among the room's viewers (API, metrics, load).
			Watch: func(room, id string) (hls.Viewer, error) { return n.rooms.Watch(ctx, room, id) },
			Log:   n.log})
		if err != nil { // only a node without an issuer gets here
			n.log.Error("hls disabled", "err", err)
			hs = nil
		} else {
			hs.Routes(mux)
			n.goBackground(ctx, hs.Run)
		}
	}
	if outputs, err := rtmp.New(rtmp.Config{Rooms: rtmpRooms{src}, Issuer: n.Issuer, MaxPerRoom: lc.RTMPMaxPerRoom,
		RootCAs: n.rtmpRoots, Log: n.log}); err != nil {
		n.log.Error("rtmp outputs disabled", "err", err)
	} else {
		outputs.Routes(mux)
		n.goBackground(ctx, outputs.Run)
	}

	// What a watch page needs to choose a player and show the audience.
	mux.HandleFunc("GET /rooms/{room}/live", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Access-Control-Allow-Origin", "*") // watch pages of any node
		name := r.PathValue("room")
		if lc.HLSTokenRequired {
			tok := r.URL.Query().Get("token")
			if tok == "" {
				tok = auth.BearerToken(r.Header.Get("Authorization"))
			}
			if _, err := n.Issuer.Authorize(tok, name, auth.RoleView); err != nil {
				status := http.StatusUnauthorized
				if errors.Is(err, auth.ErrWrongRoom) || errors.Is(err, auth.ErrWrongRole) {
					status = http.StatusForbidden
				}
				api.WriteError(w, status, err.Error())
				return
			}
		}
		rm, ok := n.rooms.Get(name)
		if !ok {
			api.WriteError(w, http.StatusNotFound, "room "+name+" is not live")
			return
		}
		info := rm.Info()
		hlsViewers := 0
		if hs != nil {
			hlsViewers = hs.Viewers(name)
		}
		w.Header().Set("Cache-Control", "no-cache")
		api.WriteJSON(w, http.StatusOK, map[string]any{
			"room": name, "viewers": info.Viewers, "hls_viewers": hlsViewers, "participants": len(info.Participants),
			"whep": "/rooms/" + name + "/whep", "hls": hlsPath(hs, name),
			"hls_token_required": lc.HLSTokenRequired,
		})
	})
}

func hlsPath(hs *hls.Server, room string) string {
	if hs == nil {
		return ""
	}
	return "/rooms/" + room + "/hls/index.m3u8"
}
