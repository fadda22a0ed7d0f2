package ingest

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/pion/sdp/v3"
)

// direction of an SDP offer as the server needs it: a WHIP offer must send
// media, a WHEP offer must receive it.
type direction int

const (
	offerSends direction = iota
	offerReceives
)

// codecRule says which codecs of one media kind the server takes.
type codecRule struct {
	kind      string   // "audio" or "video"
	supported []string // upper-case encoding names
	note      string   // appended to the error, e.g. why only H264
}

var (
	whipRules = []codecRule{
		{kind: "video", supported: []string{"VP8", "H264", "VP9"}},
		{kind: "audio", supported: []string{"OPUS"}},
	}
	whepRules = []codecRule{
		{kind: "video", supported: []string{"H264"}, note: " (the live composite is H264)"},
		{kind: "audio", supported: []string{"OPUS"}, note: " (the live composite is Opus)"},
	}
)

// Codecs that only accompany a media codec; never listed as "offered".
var auxCodecs = []string{"RTX", "RED", "ULPFEC", "FLEXFEC-03", "TELEPHONE-EVENT", "CN"}

// Static RTP payload types (RFC 3551) that appear without an rtpmap.
var staticPayloads = map[string]string{
	"0": "PCMU", "3": "GSM", "4": "G723", "8": "PCMA", "9": "G722", "18": "G729", "26": "JPEG", "34": "H263",
}

// offerError is a refusal whose message is exactly what the client reads;
// it matches its sentinel with errors.Is.
type offerError struct {
	kind error
	msg  string
}

func (e *offerError) Error() string { return e.msg }
func (e *offerError) Unwrap() error { return e.kind }

// offerSummary is what checkOffer learned about an offer.
type offerSummary struct {
	Audio, Video int // usable sections
}

// checkOffer parses an SDP offer and checks that every audio and video
// section flowing in the wanted direction offers a codec the server takes.
// Errors wrap ErrMalformedOffer, ErrUnsupported or ErrNothingToAccept and
// carry a message meant for the client.
func checkOffer(raw []byte, dir direction) (offerSummary, error) {
	var sum offerSummary
	if len(strings.TrimSpace(string(raw))) == 0 {
		return sum, fmt.Errorf("%w: empty body", ErrMalformedOffer)
	}
	var sd sdp.SessionDescription
	if err := sd.Unmarshal(raw); err != nil {
		return sum, fmt.Errorf("%w: %v", ErrMalformedOffer, err)
	}
	if len(sd.MediaDescriptions) == 0 {
		return sum, fmt.Errorf("%w: no media sections", ErrNothingToAccept)
	}
	rules := whipRules
	if dir == offerReceives {
		rules = whepRules
	}
	sessionDir := directionOf(sd.Attributes, "sendrecv")
	bundled := bundleMids(&sd)
	for i, md := range sd.MediaDescriptions {
		kind := md.MediaName.Media
		if kind != "audio" && kind != "video" {
			continue
		}
		if md.MediaName.Port.Value == 0 {
			continue // rejected or stopped section
		}
		d := directionOf(md.Attributes, sessionDir)
		if !flows(d, dir) {
			continue
		}
		mid, ok := md.Attribute("mid")
		if !ok || mid == "" {
			return sum, fmt.Errorf("%w: m-section %d (%s) has no a=mid", ErrMalformedOffer, i, kind)
		}
		if !slices.Contains(bundled, mid) {
			return sum, fmt.Errorf("%w: m-section %d (mid %s) is not in an a=group:BUNDLE (media must be bundled)",
				ErrMalformedOffer, i, mid)
		}
		rule := ruleFor(rules, kind)
		names, err := codecNames(md)
		if err != nil {
			return sum, fmt.Errorf("%w: m-section %d (%s): %v", ErrMalformedOffer, i, kind, err)
		}
		if !slices.ContainsFunc(names, func(n string) bool { return slices.Contains(rule.supported, n) }) {
			offered := displayNames(names)
			if offered == "" {
				offered = "nothing"
			}
			return sum, &offerError{kind: ErrUnsupported,
				msg: fmt.Sprintf("no supported %s codec: offered %s only%s", kind, offered, rule.note)}
		}
		if kind == "audio" {
			sum.Audio++
		} else {
			sum.Video++
		}
	}
	if sum.Audio+sum.Video == 0 {
		if dir == offerSends {
			return sum, fmt.Errorf("%w: no sendonly or sendrecv audio or video section", ErrNothingToAccept)
		}
		return sum, fmt.Errorf("%w: no recvonly or sendrecv audio or video section", ErrNothingToAccept)
	}
	return sum, nil
}

// bundleMids lists the mids of the offer's BUNDLE groups.
func bundleMids(sd *sdp.SessionDescription) []string {
	var mids []string
	for _, a := range sd.Attributes {
		if a.Key != "group" {
			continue
		}
		f := strings.Fields(a.Value)
		if len(f) > 0 && f[0] == "BUNDLE" {
			mids = append(mids, f[1:]...)
		}
	}
	return mids
}

func ruleFor(rules []codecRule, kind string) codecRule {
	for _, r := range rules {
		if r.kind == kind {
			return r
		}
	}
	return codecRule{kind: kind}
}

func directionOf(attrs []sdp.Attribute, def string) string {
	for _, a := range attrs {
		switch a.Key {
		case "sendrecv", "sendonly", "recvonly", "inactive":
			return a.Key
		}
	}
	return def
}

// flows says whether a section with the offerer's direction d carries media
// the way the server needs.
func flows(d string, dir direction) bool {
	if dir == offerSends {
		return d == "sendrecv" || d == "sendonly"
	}
	return d == "sendrecv" || d == "recvonly"
}

// codecNames lists the upper-case encoding names of a section's formats in
// offer order.
func codecNames(md *sdp.MediaDescription) ([]string, error) {
	byPT := map[string]string{}
	for _, a := range md.Attributes {
		if a.Key != "rtpmap" {
			continue
		}
		pt, rest, ok := strings.Cut(a.Value, " ")
		if !ok {
			return nil, fmt.Errorf("bad rtpmap %q", a.Value)
		}
		if n, err := strconv.Atoi(pt); err != nil || n < 0 || n > 127 {
			return nil, fmt.Errorf("bad rtpmap payload type %q", pt)
		}
		name, _, _ := strings.Cut(strings.TrimSpace(rest), "/")
		if name == "" {
			return nil, fmt.Errorf("bad rtpmap %q", a.Value)
		}
		byPT[pt] = strings.ToUpper(name)
	}
	var names []string
	for _, f := range md.MediaName.Formats {
		name, ok := byPT[f]
		if !ok {
			name, ok = staticPayloads[f]
		}
		if !ok {
			name = "payload type " + f
		}
		names = append(names, name)
	}
	return names, nil
}

// displayNames joins the distinct media codecs of names, skipping RTX, FEC
// and the like, in their usual spelling.
func displayNames(names []string) string {
	var out []string
	for _, n := range names {
		if slices.Contains(auxCodecs, n) {
			continue
		}
		if n == "OPUS" {
			n = "Opus"
		}
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return strings.Join(out, ", ")
}
