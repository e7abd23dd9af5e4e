package main

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gonum.org/v1/plot/plotter"
)

func TestChartCompactNumber(t *testing.T) {
	tests := []struct {
		in   float64
		want string
	}{
		{0, "0"},
		{math.Copysign(0, -1), "0"},
		{5, "5"},
		{0.25, "0.25"},
		{0.6000000000000001, "0.6"},
		{950, "950"},
		{1000, "1k"},
		{1500, "1.5k"},
		{12340, "12.34k"},
		{20000, "20k"},
		{999999, "1M"},
		{1.2e6, "1.2M"},
		{3e9, "3G"},
		{-2500, "-2.5k"},
	}
	for _, tc := range tests {
		if got := compactNumber(tc.in); got != tc.want {
			t.Errorf("compactNumber(%v) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestChartTicksAreCompact(t *testing.T) {
	for _, tick := range (compactTicks{}).Ticks(0, 240000) {
		if tick.Label != "" && tick.Label != compactNumber(tick.Value) {
			t.Errorf("tick %v labelled %q, want %q", tick.Value, tick.Label, compactNumber(tick.Value))
		}
	}
}

func TestChartSegments(t *testing.T) {
	nan := math.NaN()
	xs := []float64{1, 2, 3, 4, 5}
	tests := []struct {
		name string
		ys   []float64
		want [][]float64 // the x values of each run
	}{
		{"whole", []float64{1, 2, 3, 4, 5}, [][]float64{{1, 2, 3, 4, 5}}},
		{"gap in the middle", []float64{1, 2, nan, 4, 5}, [][]float64{{1, 2}, {4, 5}}},
		{"gaps at the ends", []float64{nan, 2, 3, math.Inf(1), nan}, [][]float64{{2, 3}}},
		{"lone points", []float64{1, nan, 3, nan, 5}, [][]float64{{1}, {3}, {5}}},
		{"nothing", []float64{nan, nan, nan, nan, nan}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := segments(xs, tc.ys)
			if len(got) != len(tc.want) {
				t.Fatalf("segments = %v, want runs at x %v", got, tc.want)
			}
			for i, run := range got {
				if !sameXs(run, tc.want[i]) {
					t.Errorf("run %d = %v, want x %v", i, run, tc.want[i])
				}
			}
		})
	}
}

func sameXs(run plotter.XYs, xs []float64) bool {
	if len(run) != len(xs) {
		return false
	}
	for i := range run {
		if run[i].X != xs[i] {
			return false
		}
	}
	return true
}

func TestChartWriteSize(t *testing.T) {
	tests := []struct {
		panels        int
		width, height int
	}{
		{1, 600, 500},
		{2, 1200, 500},
		{3, 1800, 500},
		{4, 1800, 1000},
	}
	for _, tc := range tests {
		panels := make([]Panel, tc.panels)
		for i := range panels {
			panels[i] = samplePanel()
		}
		img, _ := writeAndDecode(t, panels...)
		if b := img.Bounds(); b.Dx() != tc.width || b.Dy() != tc.height {
			t.Errorf("%d panels: image is %dx%d, want %dx%d", tc.panels, b.Dx(), b.Dy(), tc.width, tc.height)
		}
		if c := colorAt(img, 0, 0); c != (color.RGBA{255, 255, 255, 255}) {
			t.Errorf("%d panels: corner pixel is %v, want white background", tc.panels, c)
		}
	}
}

// TestChartContent decodes the PNG and finds each series' colour in the
// panels that have the series and not in the others, and reads the SVG
// for the titles, axis labels and series names.
func TestChartContent(t *testing.T) {
	panels := []Panel{samplePanel(), samplePanel()}
	panels[1].Title, panels[1].YLabel = "memory after sync (RSS)", "MB"
	panels[1].Series = panels[1].Series[:1]
	img, svg := writeAndDecode(t, panels...)
	cell := func(i int) image.Rectangle { return image.Rect(i*600, 0, (i+1)*600, 500) }
	for i, p := range panels {
		for si := range 3 {
			n := countNear(img, cell(i), seriesColor(si))
			if has := si < len(p.Series); has && n < 50 {
				t.Errorf("panel %d: series %d drawn with %d pixels of its colour", i, si, n)
			} else if !has && n > 0 {
				t.Errorf("panel %d: colour of series %d appears (%d pixels) in a panel without it", i, si, n)
			}
		}
	}
	for _, want := range []string{
		"queries per second (realistic mix)", "memory after sync (RSS)", "objects (services + endpointslices)",
		"qps", "MB", ">clusterdns<", ">kubernetes<", ">upper bound<", ">100k<",
	} {
		if !strings.Contains(svg, want) {
			t.Errorf("SVG lacks %q", want)
		}
	}
}

func TestChartErrors(t *testing.T) {
	good := samplePanel()
	short := samplePanel()
	short.Series[1].Values = short.Series[1].Values[1:]
	nanX := samplePanel()
	nanX.X[2] = math.NaN()
	tests := []struct {
		name   string
		panels []Panel
	}{
		{"no panels", nil},
		{"empty x", []Panel{good, {Title: "empty", Series: []Series{{Name: "a"}}}}},
		{"series length mismatch", []Panel{good, short}},
		{"x not a number", []Panel{nanX}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := WriteChart(filepath.Join(dir, "chart.png"), tc.panels...); err == nil {
				t.Fatal("WriteChart succeeded, want an error")
			}
			if left, _ := os.ReadDir(dir); len(left) != 0 {
				t.Errorf("WriteChart left %d files behind after refusing the input", len(left))
			}
		})
	}
}

// TestChartAllMissing draws a series without a single point and a panel
// whose values are all zero: an empty but valid chart, not a panic.
func TestChartAllMissing(t *testing.T) {
	p := samplePanel()
	for i := range p.Series[1].Values {
		p.Series[1].Values[i] = math.NaN()
	}
	zero := samplePanel()
	zero.Series = []Series{{Name: "idle", Values: make([]float64, len(zero.X))}}
	writeAndDecode(t, p, zero)
}

func samplePanel() Panel {
	return Panel{
		Title:  "queries per second (realistic mix)",
		XLabel: "objects (services + endpointslices)",
		YLabel: "qps",
		X:      []float64{1000, 10000, 30000, 60000, 100000},
		Series: []Series{
			{Name: "clusterdns", Values: []float64{52000, 51000, 50500, 49000, 48000}},
			{Name: "kubernetes", Values: []float64{30000, 26000, math.NaN(), 18000, 12000}},
			{Name: "upper bound", Values: []float64{5000, 4000, 3000, 2000, 1000}},
		},
	}
}

// writeAndDecode writes the chart and returns the decoded PNG and the SVG.
func writeAndDecode(t *testing.T, panels ...Panel) (image.Image, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "chart.png")
	if err := WriteChart(path, panels...); err != nil {
		t.Fatalf("WriteChart: %v", err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("written file is not a PNG: %v", err)
	}
	svg, err := os.ReadFile(svgPath(path))
	if err != nil {
		t.Fatalf("no SVG beside the PNG: %v", err)
	}
	if !strings.Contains(string(svg), "<svg") {
		t.Fatalf("%s is not an SVG:\n%.200s", svgPath(path), svg)
	}
	return img, string(svg)
}

func colorAt(img image.Image, x, y int) color.RGBA {
	return color.RGBAModel.Convert(img.At(x, y)).(color.RGBA)
}

// countNear counts the pixels of r within a small distance of c: lines are
// anti-aliased, so only their middle has the exact colour.
func countNear(img image.Image, r image.Rectangle, c color.Color) int {
	want := color.RGBAModel.Convert(c).(color.RGBA)
	n := 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			got := colorAt(img, x, y)
			d := math.Abs(float64(got.R)-float64(want.R)) + math.Abs(float64(got.G)-float64(want.G)) + math.Abs(float64(got.B)-float64(want.B))
			if d <= 30 {
				n++
			}
		}
	}
	return n
}
