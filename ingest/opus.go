package ingest

import (
	"strings"
)

// opusReceivePrefs are the Opus format parameters a publisher's answer
// states (RFC 7587 section 6.1: what the receiver prefers): in-band FEC, so
// a lost packet is rebuilt from the next, and DTX, so silence costs almost
// nothing.
var opusReceivePrefs = []string{"useinbandfec=1", "usedtx=1"}

// withOpusPrefs rewrites the Opus fmtp lines of an answer to carry
// opusReceivePrefs (pion answers with the offer's parameters), adding the
// line where the answer has none.
func withOpusPrefs(sdpText string) string {
	lines := strings.SplitAfter(sdpText, "\n")
	opusPT := map[string]bool{}
	for _, l := range lines {
		if v, ok := strings.CutPrefix(strings.TrimRight(l, "\r\n"), "a=rtpmap:"); ok {
			pt, name, _ := strings.Cut(v, " ")
			if strings.HasPrefix(strings.ToLower(name), "opus/") {
				opusPT[pt] = true
			}
		}
	}
	if len(opusPT) == 0 {
		return sdpText
	}
	hasFmtp := map[string]bool{}
	for _, l := range lines {
		if v, ok := strings.CutPrefix(strings.TrimRight(l, "\r\n"), "a=fmtp:"); ok {
			pt, _, _ := strings.Cut(v, " ")
			hasFmtp[pt] = true
		}
	}
	var b strings.Builder
	for _, l := range lines {
		t := strings.TrimRight(l, "\r\n")
		eol := l[len(t):]
		if eol == "" {
			eol = "\r\n"
		}
		if v, ok := strings.CutPrefix(t, "a=fmtp:"); ok {
			pt, params, _ := strings.Cut(v, " ")
			if opusPT[pt] {
				b.WriteString("a=fmtp:" + pt + " " + mergeParams(params, opusReceivePrefs) + eol)
				continue
			}
		}
		b.WriteString(l)
		if v, ok := strings.CutPrefix(t, "a=rtpmap:"); ok {
			pt, _, _ := strings.Cut(v, " ")
			if opusPT[pt] && !hasFmtp[pt] {
				b.WriteString("a=fmtp:" + pt + " minptime=10;" + strings.Join(opusReceivePrefs, ";") + eol)
			}
		}
	}
	return b.String()
}

// mergeParams sets each key=value of prefs in a ;-separated parameter list.
func mergeParams(params string, prefs []string) string {
	var out []string
	set := map[string]string{}
	for _, p := range prefs {
		k, v, _ := strings.Cut(p, "=")
		set[k] = v
	}
	for _, p := range strings.Split(params, ";") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		k, _, _ := strings.Cut(p, "=")
		if v, ok := set[k]; ok {
			out = append(out, k+"="+v)
			delete(set, k)
			continue
		}
		out = append(out, p)
	}
	for _, p := range prefs {
		k, _, _ := strings.Cut(p, "=")
		if v, ok := set[k]; ok {
			out = append(out, k+"="+v)
		}
	}
	return strings.Join(out, ";")
}
