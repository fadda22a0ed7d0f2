package ingest

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/webrtc/v4"
)

// transport is the one pion API of a Server and the sockets under it: a UDP
// mux on MediaPort for every local address and an ICE-TCP mux on the same
// TCP port.
type transport struct {
	api    *webrtc.API
	port   int
	udp    *ice.MultiUDPMuxDefault
	tcpLn  net.Listener
	tcpMux ice.TCPMux
	stats  *statsRegistry
}

// Payload types and formats the server offers and accepts.
var (
	videoFeedback = []webrtc.RTCPFeedback{
		// Bitrate feedback is transport-wide congestion control (TWCC, added
		// with its header extension); no REMB is generated, so none is offered.
		{Type: "ccm", Parameter: "fir"},
		{Type: "nack"}, {Type: "nack", Parameter: "pli"},
	}
	videoCodecs = []webrtc.RTPCodecParameters{
		{PayloadType: 96, RTPCodecCapability: webrtc.RTPCodecCapability{
			MimeType: webrtc.MimeTypeVP8, ClockRate: 90000, RTCPFeedback: videoFeedback}},
		{PayloadType: 102, RTPCodecCapability: webrtc.RTPCodecCapability{
			MimeType: webrtc.MimeTypeH264, ClockRate: 90000, RTCPFeedback: videoFeedback,
			SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"}},
		{PayloadType: 104, RTPCodecCapability: webrtc.RTPCodecCapability{
			MimeType: webrtc.MimeTypeH264, ClockRate: 90000, RTCPFeedback: videoFeedback,
			SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f"}},
		{PayloadType: 106, RTPCodecCapability: webrtc.RTPCodecCapability{
			MimeType: webrtc.MimeTypeH264, ClockRate: 90000, RTCPFeedback: videoFeedback,
			SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=4d001f"}},
		{PayloadType: 108, RTPCodecCapability: webrtc.RTPCodecCapability{
			MimeType: webrtc.MimeTypeH264, ClockRate: 90000, RTCPFeedback: videoFeedback,
			SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=640032"}},
		{PayloadType: 98, RTPCodecCapability: webrtc.RTPCodecCapability{
			MimeType: webrtc.MimeTypeVP9, ClockRate: 90000, RTCPFeedback: videoFeedback,
			SDPFmtpLine: "profile-id=0"}},
	}
	audioCodecs = []webrtc.RTPCodecParameters{
		{PayloadType: 111, RTPCodecCapability: webrtc.RTPCodecCapability{
			MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2,
			SDPFmtpLine: "minptime=10;useinbandfec=1;usedtx=1"}},
	}
)

func newMediaEngine() (*webrtc.MediaEngine, error) {
	m := &webrtc.MediaEngine{}
	for _, c := range videoCodecs {
		if err := m.RegisterCodec(c, webrtc.RTPCodecTypeVideo); err != nil {
			return nil, fmt.Errorf("register %s: %w", c.MimeType, err)
		}
	}
	for _, c := range audioCodecs {
		if err := m.RegisterCodec(c, webrtc.RTPCodecTypeAudio); err != nil {
			return nil, fmt.Errorf("register %s: %w", c.MimeType, err)
		}
	}
	return m, nil
}

// newTransport binds the media port (a free one when port is 0) and builds
// the API on it.
func newTransport(port int, publicIPs []string, log *slog.Logger) (*transport, error) {
	var t *transport
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		p := port
		if p == 0 {
			if p, err = freeUDPPort(); err != nil {
				return nil, err
			}
		}
		t, err = listen(p)
		if err == nil || port != 0 {
			break
		}
	}
	if err != nil {
		return nil, err
	}

	me, err := newMediaEngine()
	if err != nil {
		t.close()
		return nil, err
	}
	reg, err := t.interceptors(me)
	if err != nil {
		t.close()
		return nil, fmt.Errorf("register interceptors: %w", err)
	}
	var se webrtc.SettingEngine
	se.LoggerFactory = pionLogs{log}
	se.SetICEUDPMux(t.udp)
	se.SetICETCPMux(t.tcpMux)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4, webrtc.NetworkTypeTCP4})
	se.SetIncludeLoopbackCandidate(true)
	// No mDNS socket per session: clients reach the server's host
	// candidates, and their own .local candidates show up as
	// peer-reflexive when their checks arrive.
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	// A publisher that vanished without DELETE frees its room seat after
	// about fifteen seconds of silence.
	se.SetICETimeouts(5*time.Second, 15*time.Second, 2*time.Second)
	if len(publicIPs) > 0 {
		se.SetNAT1To1IPs(publicIPs, webrtc.ICECandidateTypeHost)
	}
	t.api = webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(reg),
		webrtc.WithSettingEngine(se))
	return t, nil
}

func listen(port int) (*transport, error) {
	udp, err := ice.NewMultiUDPMuxFromPort(port,
		ice.UDPMuxFromPortWithNetworks(ice.NetworkTypeUDP4), ice.UDPMuxFromPortWithLoopback())
	if err != nil {
		return nil, fmt.Errorf("listen udp media port %d: %w", port, err)
	}
	ln, err := net.Listen("tcp4", fmt.Sprintf(":%d", port))
	if err != nil {
		_ = udp.Close()
		return nil, fmt.Errorf("listen tcp media port %d: %w", port, err)
	}
	return &transport{port: port, udp: udp, tcpLn: ln, tcpMux: webrtc.NewICETCPMux(nil, ln, 8)}, nil
}

func freeUDPPort() (int, error) {
	c, err := net.ListenPacket("udp4", "0.0.0.0:0")
	if err != nil {
		return 0, fmt.Errorf("pick media port: %w", err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port, nil
}

func (t *transport) close() error {
	var errs []error
	if t.tcpMux != nil {
		errs = append(errs, t.tcpMux.Close())
	}
	if t.tcpLn != nil {
		if err := t.tcpLn.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			errs = append(errs, err)
		}
	}
	if t.udp != nil {
		errs = append(errs, t.udp.Close())
	}
	return errors.Join(errs...)
}
