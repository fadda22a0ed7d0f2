package ingest

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"regexp"
	"sync"
	"testing"
)

// lossyRelay forwards UDP between one client and the server's media port
// and drops a share of the client's RTP packets (SRTP leaves the RTP
// header in the clear, so it sees SSRC and sequence number).
type lossyRelay struct {
	client   *net.UDPConn // the address the client talks to
	upstream *net.UDPConn // connected to the server
	loss     float64

	mu       sync.Mutex
	peer     *net.UDPAddr
	rng      *rand.Rand
	dropped  map[uint32]map[uint16]bool // per SSRC
	forwards int
	wg       sync.WaitGroup
}

func newLossyRelay(t *testing.T, serverPort int, loss float64) *lossyRelay {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	up, err := net.DialUDP("udp4", nil, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: serverPort})
	if err != nil {
		t.Fatal(err)
	}
	r := &lossyRelay{client: c, upstream: up, loss: loss, rng: rand.New(rand.NewPCG(1, 2)),
		dropped: map[uint32]map[uint16]bool{}}
	r.wg.Add(2)
	go r.fromClient()
	go r.fromServer()
	t.Cleanup(r.close)
	return r
}

func (r *lossyRelay) port() int { return r.client.LocalAddr().(*net.UDPAddr).Port }

func (r *lossyRelay) close() {
	_ = r.client.Close()
	_ = r.upstream.Close()
	r.wg.Wait()
}

// isRTP tells RTP from RTCP, STUN and DTLS by the first two bytes.
func isRTP(b []byte) bool {
	if len(b) < 12 || b[0]>>6 != 2 {
		return false
	}
	pt := b[1] & 0x7f
	return pt < 64 || pt > 95
}

func (r *lossyRelay) fromClient() {
	defer r.wg.Done()
	buf := make([]byte, 1600)
	for {
		n, addr, err := r.client.ReadFromUDP(buf)
		if err != nil {
			return
		}
		p := buf[:n]
		r.mu.Lock()
		r.peer = addr
		drop := isRTP(p) && r.rng.Float64() < r.loss
		if drop {
			ssrc, seq := binary.BigEndian.Uint32(p[8:12]), binary.BigEndian.Uint16(p[2:4])
			if r.dropped[ssrc] == nil {
				r.dropped[ssrc] = map[uint16]bool{}
			}
			r.dropped[ssrc][seq] = true
		} else {
			r.forwards++
		}
		r.mu.Unlock()
		if !drop {
			if _, err := r.upstream.Write(p); err != nil && errors.Is(err, net.ErrClosed) {
				return
			}
		}
	}
}

func (r *lossyRelay) fromServer() {
	defer r.wg.Done()
	buf := make([]byte, 1600)
	for {
		n, err := r.upstream.Read(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue // ICMP unreachable before the client spoke
		}
		r.mu.Lock()
		peer := r.peer
		r.mu.Unlock()
		if peer != nil {
			_, _ = r.client.WriteToUDP(buf[:n], peer)
		}
	}
}

// droppedSeqs is a copy of the sequence numbers dropped for ssrc.
func (r *lossyRelay) droppedSeqs(ssrc uint32) map[uint16]bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[uint16]bool{}
	for s := range r.dropped[ssrc] {
		out[s] = true
	}
	return out
}

var candidateLine = regexp.MustCompile(`(?m)^a=(candidate|end-of-candidates).*\r?\n`)

// withoutCandidates strips the candidates of an SDP, so the other side
// learns addresses only from the checks it receives.
func withoutCandidates(sdp string) string { return candidateLine.ReplaceAllString(sdp, "") }

// throughRelay replaces an answer's candidates with the relay's address.
func throughRelay(sdp string, port int) string {
	c := fmt.Sprintf("a=candidate:1 1 udp 2130706431 127.0.0.1 %d typ host\r\na=end-of-candidates\r\n", port)
	done := false
	return candidateLine.ReplaceAllStringFunc(sdp, func(string) string {
		if done {
			return ""
		}
		done = true
		return c
	})
}
