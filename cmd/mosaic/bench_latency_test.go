package main

import (
	"testing"
	"time"
)

// The stamp survives being scaled down (as the composite and the reader
// do), on grey and on noise, and the age arithmetic wraps.
func TestStampRoundTrip(t *testing.T) {
	frame := make([]byte, stampW*stampH*3/2)
	for _, noise := range []bool{false, true} {
		for _, d := range []time.Duration{0, 2 * time.Millisecond, 1234 * time.Millisecond, 131 * time.Second, 200 * time.Second} {
			code := stampCode(d)
			drawStamp(frame, code, noise)
			small := make([]byte, readW*readH)
			for y := 0; y < readH; y++ {
				for x := 0; x < readW; x++ {
					small[y*readW+x] = frame[(y*stampH/readH)*stampW+x*stampW/readW]
				}
			}
			got, ok := readStamp(small, readW, readH)
			if !ok || got != code {
				t.Errorf("noise %v, %s: read %d (ok %v), drew %d", noise, d, got, ok, code)
			}
		}
	}
	if age := stampAge(stampCode(131*time.Second+10*time.Millisecond), stampCode(131*time.Second-40*time.Millisecond)); age != 50*time.Millisecond {
		t.Errorf("age across the wrap: %s", age)
	}
	// A damaged copy is noticed.
	drawStamp(frame, 0xffff, false)
	small := make([]byte, readW*readH)
	for i := range small {
		small[i] = 16
	}
	yc := (stampY0 + stampY1) / 2 * readH / stampH
	for y := yc - 2; y <= yc+2; y++ { // the first copy all ones, the second all zeros
		for x := 0; x < readW; x++ {
			small[y*readW+x] = 235
		}
	}
	if _, ok := readStamp(small, readW, readH); ok {
		t.Error("copies disagree, but the read is accepted")
	}
}
