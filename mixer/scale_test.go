package mixer

import (
	"math"
	"testing"
	"time"

	"github.com/go-gst/go-gst/gst"
	"github.com/go-gst/go-gst/gst/app"
)

// A compositor pad set to linear scaling still anti-aliases: a 1-pixel
// checkerboard drawn three times smaller comes out an even grey, where a
// filter that only looks at the nearest pixels would leave black and white
// blotches (cubic, the default, gives the same deviation, about 8).
func TestLinearScalingAntiAliases(t *testing.T) {
	initGst()
	pl, err := gst.NewPipelineFromString("videotestsrc pattern=checkers-1 num-buffers=1 " +
		"! video/x-raw,format=I420,width=1278,height=720 ! compositor name=c background=black " +
		"! video/x-raw,format=I420,width=426,height=240 ! appsink name=out sync=false")
	if err != nil {
		t.Fatal(err)
	}
	comp, err := pl.GetElementByName("c")
	if err != nil {
		t.Fatal(err)
	}
	pad := comp.GetStaticPad("sink_0")
	if pad == nil {
		t.Fatal("compositor has no sink_0")
	}
	if scaleMethodIsLinear(pad) {
		t.Fatal("a new compositor pad is already linear: the test would not tell")
	}
	if err := scaleLinear(pad); err != nil {
		t.Fatal(err)
	}
	if !scaleMethodIsLinear(pad) {
		t.Fatal("the pad's converter-config does not say linear")
	}
	if err := setProps(pad, p("width", 426), p("height", 240)); err != nil {
		t.Fatal(err)
	}
	sinkEl, err := pl.GetElementByName("out")
	if err != nil {
		t.Fatal(err)
	}
	if err := pl.SetState(gst.StatePlaying); err != nil {
		t.Fatal(err)
	}
	defer pl.SetState(gst.StateNull)
	smp := app.SinkFromElement(sinkEl).TryPullSample(gst.ClockTime(10 * time.Second))
	if smp == nil {
		t.Fatal("no frame out of the compositor")
	}
	m := smp.GetBuffer().Map(gst.MapRead)
	defer smp.GetBuffer().Unmap()
	y := m.Bytes()[:426*240] // the luma plane
	var sum, sq float64
	n := 0
	for row := 8; row < 232; row++ {
		for col := 8; col < 418; col++ {
			v := float64(y[row*426+col])
			sum += v
			sq += v * v
			n++
		}
	}
	mean := sum / float64(n)
	sd := math.Sqrt(sq/float64(n) - mean*mean)
	if mean < 100 || mean > 150 || sd > 15 {
		t.Errorf("checkerboard scaled to a tile: luma mean %.1f, deviation %.1f; want an even mid grey (deviation ≤ 15; black and white pixels would give about 110)", mean, sd)
	}
	t.Logf("luma mean %.1f, deviation %.1f", mean, sd)
}
