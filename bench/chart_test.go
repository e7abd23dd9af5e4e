package main

import (
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"testing"
)

func TestChartNiceTicks(t *testing.T) {
	tests := []struct {
		name   string
		lo, hi float64
		want   []float64 // nil: only the general properties are checked
	}{
		{name: "zero to hundred", lo: 0, hi: 100, want: []float64{0, 20, 40, 60, 80, 100}},
		{name: "zero to sixty", lo: 0, hi: 60, want: []float64{0, 20, 40, 60}},
		{name: "zero to qps", lo: 0, hi: 12345, want: []float64{0, 5000, 10000, 15000}},
		{name: "offset range", lo: 1000, hi: 100000, want: []float64{0, 20000, 40000, 60000, 80000, 100000}},
		{name: "all zero", lo: 0, hi: 0, want: []float64{0, 0.2, 0.4, 0.6000000000000001, 0.8, 1}},
		{name: "single value", lo: 5000, hi: 5000},
		{name: "fractions", lo: 0, hi: 0.37},
		{name: "negative", lo: -42, hi: 17},
		{name: "millions", lo: 0, hi: 2.4e6},
		{name: "narrow", lo: 10010, hi: 10090},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := niceTicks(tc.lo, tc.hi, chartTicks)
			if tc.want != nil && !equalFloats(got, tc.want) {
				t.Errorf("niceTicks(%v, %v) = %v, want %v", tc.lo, tc.hi, got, tc.want)
			}
			if len(got) < 3 || len(got) > 8 {
				t.Fatalf("niceTicks(%v, %v) = %v: want about %d ticks", tc.lo, tc.hi, got, chartTicks)
			}
			if got[0] > tc.lo || got[len(got)-1] < tc.hi {
				t.Errorf("ticks %v do not cover [%v, %v]", got, tc.lo, tc.hi)
			}
			step := got[1] - got[0]
			mantissa := step / math.Pow(10, math.Floor(math.Log10(step)))
			if !nearlyOneOf(mantissa, 1, 2, 5) {
				t.Errorf("step %v is not 1, 2 or 5 times a power of ten", step)
			}
			for i := 1; i < len(got); i++ {
				if d := got[i] - got[i-1]; math.Abs(d-step) > step*1e-9 {
					t.Errorf("ticks %v are not evenly spaced", got)
				}
			}
			if r := got[0] / step; math.Abs(r-math.Round(r)) > 1e-9 {
				t.Errorf("first tick %v is not a multiple of the step %v", got[0], step)
			}
		})
	}
}

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

// TestChartFont checks every character the chart labels need has its own glyph.
func TestChartFont(t *testing.T) {
	need := " .,:/()-%×0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	seen := map[[7]byte]rune{}
	for _, r := range need {
		g, ok := glyphs[r]
		if !ok {
			t.Errorf("no glyph for %q", r)
			continue
		}
		for _, row := range g {
			if row > 0x1F {
				t.Errorf("glyph %q row %#x is wider than 5 pixels", r, row)
			}
		}
		if other, dup := seen[g]; dup {
			t.Errorf("glyphs %q and %q are identical", r, other)
		}
		seen[g] = r
	}
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
		img := writeAndDecode(t, panels...)
		if b := img.Bounds(); b.Dx() != tc.width || b.Dy() != tc.height {
			t.Errorf("%d panels: image is %dx%d, want %dx%d", tc.panels, b.Dx(), b.Dy(), tc.width, tc.height)
		}
		if c := colorAt(img, 0, 0); c != chartWhite {
			t.Errorf("%d panels: corner pixel is %v, want white background", tc.panels, c)
		}
	}
}

// TestChartSeriesColours decodes the written file and finds each series'
// own colour at every point it plots, and ink in the title band.
func TestChartSeriesColours(t *testing.T) {
	panels := []Panel{samplePanel(), samplePanel()}
	panels[1].Series = panels[1].Series[:1]
	img := writeAndDecode(t, panels...)
	for i, r := range panelRects(len(panels)) {
		p := panels[i]
		l := layoutPanel(p, r)
		for si, s := range p.Series {
			var prev image.Point
			for j, v := range s.Values {
				if math.IsNaN(v) {
					continue
				}
				at := l.pixel(p.X[j], v)
				if !at.In(l.plot.Inset(-markerRadius)) {
					t.Fatalf("panel %d series %q point %d at %v lies outside the plot %v", i, s.Name, j, at, l.plot)
				}
				if j > 0 && at.X <= prev.X {
					t.Errorf("panel %d series %q: x pixels not increasing: %v then %v", i, s.Name, prev, at)
				}
				prev = at
				if got := colorAt(img, at.X, at.Y); got != seriesColor(si) {
					t.Errorf("panel %d series %q point %d at %v: colour %v, want %v", i, s.Name, j, at, got, seriesColor(si))
				}
			}
		}
		// The NaN in the second series must break its line, not bridge it.
		if len(p.Series) > 1 {
			s := p.Series[1]
			gap := l.pixel((p.X[1]+p.X[3])/2, (s.Values[1]+s.Values[3])/2)
			if n := countColour(img, image.Rectangle{gap, gap}.Inset(-3), seriesColor(1)); n != 0 {
				t.Errorf("panel %d: line of %q bridges its missing point at %v", i, s.Name, gap)
			}
			drawn := l.pixel((p.X[3]+p.X[4])/2, (s.Values[3]+s.Values[4])/2)
			if countColour(img, image.Rectangle{drawn, drawn}.Inset(-2), seriesColor(1)) == 0 {
				t.Errorf("panel %d: no line of %q between its last two points near %v", i, s.Name, drawn)
			}
		}
		title := image.Rect(r.Min.X, r.Min.Y, r.Max.X, r.Min.Y+10+glyphHeight)
		if countColour(img, title, chartInk) == 0 {
			t.Errorf("panel %d: no title text drawn", i)
		}
	}
	// The second panel has one series, so the third colour appears in the first only.
	third := seriesColor(2)
	if countColour(img, panelRects(2)[1], third) != 0 {
		t.Errorf("colour of series 3 appears in the panel that has no series 3")
	}
	if countColour(img, panelRects(2)[0], third) == 0 {
		t.Errorf("colour of series 3 missing from the first panel")
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
			path := filepath.Join(t.TempDir(), "chart.png")
			if err := WriteChart(path, tc.panels...); err == nil {
				t.Fatal("WriteChart succeeded, want an error")
			}
			if _, err := os.Stat(path); !os.IsNotExist(err) {
				t.Errorf("WriteChart left a file behind after refusing the input (stat: %v)", err)
			}
		})
	}
}

// samplePanel has series far enough apart that no marker covers another's.
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

func writeAndDecode(t *testing.T, panels ...Panel) image.Image {
	t.Helper()
	path := filepath.Join(t.TempDir(), "chart.png")
	if err := WriteChart(path, panels...); err != nil {
		t.Fatalf("WriteChart: %v", err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("written file is not a PNG: %v", err)
	}
	return img
}

func colorAt(img image.Image, x, y int) color.RGBA {
	return color.RGBAModel.Convert(img.At(x, y)).(color.RGBA)
}

func countColour(img image.Image, r image.Rectangle, c color.RGBA) int {
	n := 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if colorAt(img, x, y) == c {
				n++
			}
		}
	}
	return n
}

func equalFloats(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Abs(a[i]-b[i]) > 1e-9*math.Max(1, math.Abs(b[i])) {
			return false
		}
	}
	return true
}

func nearlyOneOf(v float64, choices ...float64) bool {
	for _, c := range choices {
		if math.Abs(v-c) < 1e-9 {
			return true
		}
	}
	return false
}
