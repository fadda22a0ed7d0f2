package publisher

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// avcConfig is the AVCDecoderConfigurationRecord (ISO 14496-15 5.3.3) of an
// H.264 Matroska track: NAL length size and the parameter sets.
type avcConfig struct {
	profile    byte
	lengthSize int
	sps, pps   [][]byte
}

var annexBStart = []byte{0, 0, 0, 1}

func parseAVCConfig(b []byte) (*avcConfig, error) {
	if len(b) < 7 || b[0] != 1 {
		return nil, fmt.Errorf("%w: bad avcC record", ErrBadWebM)
	}
	c := &avcConfig{profile: b[1], lengthSize: int(b[4]&0x03) + 1}
	if c.lengthSize == 3 {
		return nil, fmt.Errorf("%w: avcC NAL length size 3", ErrBadWebM)
	}
	return c.readSets(b)
}

// readSets reads the SPS and PPS lists that follow the 5-byte header.
func (c *avcConfig) readSets(b []byte) (*avcConfig, error) {
	pos := 5
	readSets := func() ([][]byte, error) {
		if pos >= len(b) {
			return nil, fmt.Errorf("%w: truncated avcC", ErrBadWebM)
		}
		n := int(b[pos])
		if pos == 5 {
			n &= 0x1F
		}
		pos++
		var sets [][]byte
		for range n {
			if pos+2 > len(b) {
				return nil, fmt.Errorf("%w: truncated avcC", ErrBadWebM)
			}
			l := int(binary.BigEndian.Uint16(b[pos:]))
			pos += 2
			if pos+l > len(b) {
				return nil, fmt.Errorf("%w: truncated avcC", ErrBadWebM)
			}
			sets = append(sets, b[pos:pos+l])
			pos += l
		}
		return sets, nil
	}
	var err error
	if c.sps, err = readSets(); err != nil {
		return nil, err
	}
	if c.pps, err = readSets(); err != nil {
		return nil, err
	}
	if len(c.sps) == 0 || len(c.pps) == 0 {
		return nil, fmt.Errorf("%w: avcC without SPS or PPS", ErrBadWebM)
	}
	return c, nil
}

// fmtp is the SDP format line for the profile, using the profile-level-id
// values WebRTC peers register (the level is not part of the match).
func (c *avcConfig) fmtp() string {
	plid := "640032"
	switch c.profile {
	case 66:
		plid = "42e01f"
	case 77:
		plid = "4d001f"
	}
	return "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=" + plid
}

// annexB turns a length-prefixed access unit into Annex-B, with SPS and PPS
// in front of IDR pictures that lack them. idr reports an IDR slice.
func (c *avcConfig) annexB(au []byte) (out []byte, idr bool, err error) {
	var buf bytes.Buffer
	hasSPS := false
	for p := au; len(p) > 0; {
		if len(p) < c.lengthSize {
			return nil, false, fmt.Errorf("%w: truncated NAL length", ErrBadWebM)
		}
		var n int
		for i := range c.lengthSize {
			n = n<<8 | int(p[i])
		}
		p = p[c.lengthSize:]
		if n == 0 || n > len(p) {
			return nil, false, fmt.Errorf("%w: NAL of %d bytes in %d", ErrBadWebM, n, len(p))
		}
		switch p[0] & 0x1F {
		case 5:
			idr = true
		case 7:
			hasSPS = true
		}
		buf.Write(annexBStart)
		buf.Write(p[:n])
		p = p[n:]
	}
	if !idr || hasSPS {
		return buf.Bytes(), idr, nil
	}
	var withSets bytes.Buffer
	for _, s := range append(append([][]byte{}, c.sps...), c.pps...) {
		withSets.Write(annexBStart)
		withSets.Write(s)
	}
	withSets.Write(buf.Bytes())
	return withSets.Bytes(), true, nil
}
