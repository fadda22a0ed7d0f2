package mixer

import (
	"fmt"
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
	const w, h, margin = 426, 240, 8 // a third of the source each way
	initGst()
	pl, err := gst.NewPipelineFromString(fmt.Sprintf("videotestsrc pattern=checkers-1 num-buffers=1 "+
		"! video/x-raw,format=I420,width=%d,height=%d ! compositor name=c background=black "+
		"! video/x-raw,format=I420,width=%d,height=%d ! appsink name=out sync=false", 3*w, 3*h, w, h))
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
	if err := setProps(pad, p("width", w), p("height", h)); err != nil {
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
	y := m.Bytes()[:w*h] // the luma plane
	var sum, sq float64
	n := 0
	for row := margin; row < h-margin; row++ {
		for col := margin; col < w-margin; col++ {
			v := float64(y[row*w+col])
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
