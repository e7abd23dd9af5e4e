package main

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"math"
	"os"
	"strconv"
	"strings"
)

// Series is one line of a panel: a name and its y value at each x.
type Series struct {
	Name   string
	Values []float64 // same length as Panel.X; NaN = missing point
}

// Panel is one plot: a title, an x axis shared by its series, and the series.
type Panel struct {
	Title  string // e.g. "queries per second (realistic mix)"
	XLabel string // e.g. "objects (services + endpointslices)"
	YLabel string // e.g. "qps"
	X      []float64
	Series []Series
}

// Chart geometry. Every panel gets the same fixed cell so that two panels
// make a 1200x500 image; up to chartColumns sit side by side, more stack.
const (
	chartPanelWidth  = 600
	chartPanelHeight = 500
	chartColumns     = 3
	chartTicks       = 5 // wanted tick count; niceness may give one more or less
	glyphScale       = 2 // the 5x7 font is too small to read at 1x
	glyphAdvance     = 6 * glyphScale
	glyphHeight      = 7 * glyphScale // descenders hang into the gap below
	legendRowHeight  = 22
	legendSwatch     = 24 // line sample plus gap before the series name
	markerRadius     = 3
)

var (
	chartWhite = color.RGBA{255, 255, 255, 255}
	chartInk   = color.RGBA{30, 30, 30, 255}
	chartGrid  = color.RGBA{225, 225, 225, 255}
	// chartPalette is the Tableau 10 set: hues that stay distinct on white
	// and from each other; series beyond ten reuse it from the start.
	chartPalette = []color.RGBA{
		{31, 119, 180, 255}, {255, 127, 14, 255}, {44, 160, 44, 255}, {214, 39, 40, 255},
		{148, 103, 189, 255}, {140, 86, 75, 255}, {227, 119, 194, 255}, {127, 127, 127, 255},
		{188, 189, 34, 255}, {23, 190, 207, 255},
	}
)

// seriesColor is the colour of the i-th series of a panel.
func seriesColor(i int) color.RGBA { return chartPalette[i%len(chartPalette)] }

// WriteChart renders the panels side by side (or stacked) into one PNG file.
func WriteChart(path string, panels ...Panel) error {
	img, err := renderChart(panels)
	if err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := png.Encode(f, img); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// renderChart validates every panel before drawing, so a bad input never
// leaves a half-written file behind.
func renderChart(panels []Panel) (*image.RGBA, error) {
	if len(panels) == 0 {
		return nil, errors.New("chart: no panels")
	}
	for _, p := range panels {
		if err := p.validate(); err != nil {
			return nil, err
		}
	}
	rects := panelRects(len(panels))
	var bounds image.Rectangle
	for _, r := range rects {
		bounds = bounds.Union(r)
	}
	img := image.NewRGBA(bounds)
	draw.Draw(img, bounds, image.NewUniform(chartWhite), image.Point{}, draw.Src)
	for i, p := range panels {
		// The sub-image clips a long title or legend to its own panel.
		drawPanel(img.SubImage(rects[i]).(*image.RGBA), p)
	}
	return img, nil
}

func (p Panel) validate() error {
	if len(p.X) == 0 {
		return fmt.Errorf("chart: panel %q has no x values", p.Title)
	}
	for i, x := range p.X {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return fmt.Errorf("chart: panel %q: x[%d] is %v", p.Title, i, x)
		}
	}
	for _, s := range p.Series {
		if len(s.Values) != len(p.X) {
			return fmt.Errorf("chart: panel %q: series %q has %d values for %d x values",
				p.Title, s.Name, len(s.Values), len(p.X))
		}
	}
	return nil
}

// panelRects places n panels in rows of up to chartColumns.
func panelRects(n int) []image.Rectangle {
	rects := make([]image.Rectangle, n)
	for i := range rects {
		x, y := i%chartColumns*chartPanelWidth, i/chartColumns*chartPanelHeight
		rects[i] = image.Rect(x, y, x+chartPanelWidth, y+chartPanelHeight)
	}
	return rects
}

// panelLayout is where a panel's parts go and how its data maps to pixels.
type panelLayout struct {
	plot           image.Rectangle // data area; the axes run along its left and bottom edges
	xTicks, yTicks []float64       // first and last are the ends of each axis
	legend         []image.Point   // top-left of each series' legend entry
}

func layoutPanel(p Panel, r image.Rectangle) panelLayout {
	xlo, xhi := finiteRange(p.X)
	// The y axis starts at 0 (or below, for negative data) so that bar-like
	// comparisons between x values are not exaggerated.
	ylo, yhi := 0.0, 0.0
	for _, s := range p.Series {
		lo, hi := finiteRange(s.Values)
		ylo, yhi = min(ylo, lo), max(yhi, hi)
	}
	l := panelLayout{xTicks: niceTicks(xlo, xhi, chartTicks), yTicks: niceTicks(ylo, yhi, chartTicks)}
	labelWidth := 0
	for _, t := range l.yTicks {
		labelWidth = max(labelWidth, textWidth(compactNumber(t)))
	}
	left := r.Min.X + 10 + glyphHeight + 10 + labelWidth + 8
	right := r.Max.X - 30 // room for half of the last x tick label
	l.legend = legendPlaces(p.Series, left, right)
	legendHeight := 0
	if n := len(l.legend); n > 0 {
		legendHeight = l.legend[n-1].Y + legendRowHeight
	}
	belowAxis := 8 + glyphHeight + 10 + glyphHeight + 14 // tick labels, x label, gap
	bottom := r.Max.Y - 10 - legendHeight - belowAxis
	l.plot = image.Rect(left, r.Min.Y+10+glyphHeight+16, right, bottom)
	for i := range l.legend {
		l.legend[i].Y += bottom + belowAxis
	}
	return l
}

// pixel maps a data point to the image.
func (l panelLayout) pixel(x, y float64) image.Point {
	xlo, xhi := l.xTicks[0], l.xTicks[len(l.xTicks)-1]
	ylo, yhi := l.yTicks[0], l.yTicks[len(l.yTicks)-1]
	px := float64(l.plot.Min.X) + (x-xlo)/(xhi-xlo)*float64(l.plot.Dx())
	py := float64(l.plot.Max.Y) - (y-ylo)/(yhi-ylo)*float64(l.plot.Dy())
	return image.Pt(int(math.Round(px)), int(math.Round(py)))
}

// legendPlaces lays the legend entries out left to right, wrapping at right;
// Y is relative to the legend's first row.
func legendPlaces(series []Series, left, right int) []image.Point {
	places := make([]image.Point, len(series))
	x, y := left, 0
	for i, s := range series {
		w := legendSwatch + textWidth(s.Name)
		if x > left && x+w > right {
			x, y = left, y+legendRowHeight
		}
		places[i] = image.Pt(x, y)
		x += w + 20
	}
	return places
}

func drawPanel(img *image.RGBA, p Panel) {
	r := img.Bounds()
	l := layoutPanel(p, r)
	plot := l.plot
	drawText(img, r.Min.X+(r.Dx()-textWidth(p.Title))/2, r.Min.Y+10, p.Title, chartInk)
	for _, t := range l.yTicks {
		y := l.pixel(l.xTicks[0], t).Y
		fillRect(img, image.Rect(plot.Min.X, y, plot.Max.X+1, y+1), chartGrid)
		fillRect(img, image.Rect(plot.Min.X-5, y, plot.Min.X, y+1), chartInk)
		s := compactNumber(t)
		drawText(img, plot.Min.X-8-textWidth(s), y-glyphHeight/2, s, chartInk)
	}
	for _, t := range l.xTicks {
		x := l.pixel(t, l.yTicks[0]).X
		fillRect(img, image.Rect(x, plot.Min.Y, x+1, plot.Max.Y), chartGrid)
		fillRect(img, image.Rect(x, plot.Max.Y, x+1, plot.Max.Y+5), chartInk)
		s := compactNumber(t)
		drawText(img, x-textWidth(s)/2, plot.Max.Y+8, s, chartInk)
	}
	fillRect(img, image.Rect(plot.Min.X, plot.Min.Y, plot.Min.X+1, plot.Max.Y+1), chartInk)
	fillRect(img, image.Rect(plot.Min.X, plot.Max.Y, plot.Max.X+1, plot.Max.Y+1), chartInk)
	drawText(img, plot.Min.X+(plot.Dx()-textWidth(p.XLabel))/2, plot.Max.Y+8+glyphHeight+10, p.XLabel, chartInk)
	drawTextUp(img, r.Min.X+10, plot.Min.Y+(plot.Dy()+textWidth(p.YLabel))/2, p.YLabel, chartInk)

	// All lines first, then all markers, so no line hides another series' point.
	for i, s := range p.Series {
		var prev *image.Point
		for j, v := range s.Values {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				prev = nil // a missing point breaks the line rather than bridging it
				continue
			}
			pt := l.pixel(p.X[j], v)
			if prev != nil {
				drawLine(img, *prev, pt, seriesColor(i))
			}
			prev = &pt
		}
	}
	for i, s := range p.Series {
		for j, v := range s.Values {
			if !math.IsNaN(v) && !math.IsInf(v, 0) {
				fillDisc(img, l.pixel(p.X[j], v), seriesColor(i))
			}
		}
	}
	for i, s := range p.Series {
		at := l.legend[i]
		mid := at.Y + glyphHeight/2
		drawLine(img, image.Pt(at.X, mid), image.Pt(at.X+legendSwatch-8, mid), seriesColor(i))
		fillDisc(img, image.Pt(at.X+(legendSwatch-8)/2, mid), seriesColor(i))
		drawText(img, at.X+legendSwatch, at.Y, s.Name, chartInk)
	}
}

// finiteRange is the smallest and largest finite value, or (+Inf, -Inf) if none.
func finiteRange(vs []float64) (lo, hi float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, v := range vs {
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			lo, hi = min(lo, v), max(hi, v)
		}
	}
	return lo, hi
}

// niceTicks returns about n evenly spaced ticks, each step 1, 2 or 5 times a
// power of ten, from a multiple of the step at or below lo to one at or above
// hi (Heckbert, "Nice numbers for graph labels", Graphics Gems, 1990).
func niceTicks(lo, hi float64, n int) []float64 {
	if hi <= lo { // a single value still needs an axis of some length
		if lo == 0 {
			lo, hi = 0, 1
		} else {
			lo, hi = lo-math.Abs(lo)/2, hi+math.Abs(hi)/2
		}
	}
	step := niceNumber(niceNumber(hi-lo, false)/float64(n-1), true)
	first, last := math.Floor(lo/step), math.Ceil(hi/step)
	ticks := make([]float64, 0, int(last-first)+1)
	for i := first; i <= last; i++ {
		ticks = append(ticks, i*step) // multiplying, not summing, keeps rounding error out
	}
	return ticks
}

// niceNumber is 1, 2, 5 or 10 times a power of ten near x: the nearest when
// round, otherwise the next one up.
func niceNumber(x float64, round bool) float64 {
	exp := math.Pow(10, math.Floor(math.Log10(x)))
	f := x / exp
	var nice float64
	switch {
	case round && f < 1.5, !round && f <= 1:
		nice = 1
	case round && f < 3, !round && f <= 2:
		nice = 2
	case round && f < 7, !round && f <= 5:
		nice = 5
	default:
		nice = 10
	}
	return nice * exp
}

// compactNumber formats v with at most four significant digits and a k, M
// or G suffix: 1500 is "1.5k", 1200000 is "1.2M".
func compactNumber(v float64) string {
	if v == 0 {
		return "0" // also for -0
	}
	a := math.Abs(v)
	for _, u := range []struct {
		div    float64
		suffix string
	}{{1e9, "G"}, {1e6, "M"}, {1e3, "k"}} {
		// Compare after rounding so 999999 reads "1M", not "1000k".
		if roundSignificant(a, 4) >= u.div {
			return strconv.FormatFloat(roundSignificant(v/u.div, 4), 'f', -1, 64) + u.suffix
		}
	}
	return strconv.FormatFloat(roundSignificant(v, 4), 'f', -1, 64)
}

func roundSignificant(v float64, digits int) float64 {
	f, err := strconv.ParseFloat(strconv.FormatFloat(v, 'g', digits, 64), 64)
	if err != nil {
		return v
	}
	return f
}

func fillRect(img *image.RGBA, r image.Rectangle, c color.RGBA) {
	draw.Draw(img, r, image.NewUniform(c), image.Point{}, draw.Src)
}

func fillDisc(img *image.RGBA, at image.Point, c color.RGBA) {
	for dy := -markerRadius; dy <= markerRadius; dy++ {
		for dx := -markerRadius; dx <= markerRadius; dx++ {
			if dx*dx+dy*dy <= markerRadius*markerRadius+markerRadius {
				img.SetRGBA(at.X+dx, at.Y+dy, c)
			}
		}
	}
}

// drawLine is Bresenham's line with a 2x2 pen, so the line is 2 px thick.
func drawLine(img *image.RGBA, a, b image.Point, c color.RGBA) {
	dx, sx := b.X-a.X, 1
	if dx < 0 {
		dx, sx = -dx, -1
	}
	dy, sy := a.Y-b.Y, 1 // dy is minus the vertical distance
	if dy > 0 {
		dy, sy = -dy, -1
	}
	for e := dx + dy; ; {
		fillRect(img, image.Rect(a.X, a.Y, a.X+2, a.Y+2), c)
		if a == b {
			return
		}
		e2 := 2 * e
		if e2 >= dy {
			e += dy
			a.X += sx
		}
		if e2 <= dx {
			e += dx
			a.Y += sy
		}
	}
}

// textWidth is the width in pixels of s drawn by drawText.
func textWidth(s string) int {
	n := len([]rune(s))
	if n == 0 {
		return 0
	}
	return n*glyphAdvance - glyphScale // no gap after the last glyph
}

// drawText draws s left to right with its top-left corner at (x, y).
func drawText(img *image.RGBA, x, y int, s string, c color.RGBA) {
	eachGlyphPixel(s, func(col, row int) {
		fillRect(img, image.Rect(x+col*glyphScale, y+row*glyphScale, x+(col+1)*glyphScale, y+(row+1)*glyphScale), c)
	})
}

// drawTextUp draws s turned a quarter left, reading bottom to top, with the
// start of its baseline side at (x, y): for a vertical axis label.
func drawTextUp(img *image.RGBA, x, y int, s string, c color.RGBA) {
	eachGlyphPixel(s, func(col, row int) {
		fillRect(img, image.Rect(x+row*glyphScale, y-(col+1)*glyphScale, x+(row+1)*glyphScale, y-col*glyphScale), c)
	})
}

// eachGlyphPixel calls set for every lit pixel of s in font cells, column
// col counted along the text, row 0 at the top of a glyph.
func eachGlyphPixel(s string, set func(col, row int)) {
	for i, r := range []rune(s) {
		g, ok := glyphs[r]
		if !ok {
			g = glyphs['?']
		}
		drop := 0
		if strings.ContainsRune(descenders, r) {
			drop = 2
		}
		for row, bits := range g {
			for col := range 5 {
				if bits&(0x10>>col) != 0 {
					set(i*6+col, row+drop)
				}
			}
		}
	}
}

// glyphs is a 5x7 bitmap font: seven rows, top first, bit 4 the leftmost pixel.
// The letters in descenders sit two rows lower, their tails below the line.
const descenders = "gpqyµ"

var glyphs = map[rune][7]byte{
	' ': {}, '?': {0x0E, 0x11, 0x01, 0x02, 0x04, 0x00, 0x04},
	'.': {0, 0, 0, 0, 0, 0x0C, 0x0C}, ',': {0, 0, 0, 0, 0x0C, 0x04, 0x08},
	':': {0, 0x0C, 0x0C, 0, 0x0C, 0x0C, 0}, '/': {0, 0x01, 0x02, 0x04, 0x08, 0x10, 0},
	'(': {0x02, 0x04, 0x08, 0x08, 0x08, 0x04, 0x02}, ')': {0x08, 0x04, 0x02, 0x02, 0x02, 0x04, 0x08},
	'-': {0, 0, 0, 0x1F, 0, 0, 0}, '+': {0, 0x04, 0x04, 0x1F, 0x04, 0x04, 0},
	'%': {0x18, 0x19, 0x02, 0x04, 0x08, 0x13, 0x03}, '×': {0, 0x11, 0x0A, 0x04, 0x0A, 0x11, 0},
	'µ': {0x11, 0x11, 0x11, 0x13, 0x1D, 0x10, 0x10},
	'0': {0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E}, '1': {0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E},
	'2': {0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F}, '3': {0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E},
	'4': {0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02}, '5': {0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E},
	'6': {0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E}, '7': {0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08},
	'8': {0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E}, '9': {0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C},
	'A': {0x0E, 0x11, 0x11, 0x11, 0x1F, 0x11, 0x11}, 'B': {0x1E, 0x11, 0x11, 0x1E, 0x11, 0x11, 0x1E},
	'C': {0x0E, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0E}, 'D': {0x1C, 0x12, 0x11, 0x11, 0x11, 0x12, 0x1C},
	'E': {0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x1F}, 'F': {0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x10},
	'G': {0x0E, 0x11, 0x10, 0x17, 0x11, 0x11, 0x0F}, 'H': {0x11, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11},
	'I': {0x0E, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0E}, 'J': {0x07, 0x02, 0x02, 0x02, 0x02, 0x12, 0x0C},
	'K': {0x11, 0x12, 0x14, 0x18, 0x14, 0x12, 0x11}, 'L': {0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1F},
	'M': {0x11, 0x1B, 0x15, 0x15, 0x11, 0x11, 0x11}, 'N': {0x11, 0x11, 0x19, 0x15, 0x13, 0x11, 0x11},
	'O': {0x0E, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E}, 'P': {0x1E, 0x11, 0x11, 0x1E, 0x10, 0x10, 0x10},
	'Q': {0x0E, 0x11, 0x11, 0x11, 0x15, 0x12, 0x0D}, 'R': {0x1E, 0x11, 0x11, 0x1E, 0x14, 0x12, 0x11},
	'S': {0x0F, 0x10, 0x10, 0x0E, 0x01, 0x01, 0x1E}, 'T': {0x1F, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04},
	'U': {0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E}, 'V': {0x11, 0x11, 0x11, 0x11, 0x11, 0x0A, 0x04},
	'W': {0x11, 0x11, 0x11, 0x15, 0x15, 0x15, 0x0A}, 'X': {0x11, 0x11, 0x0A, 0x04, 0x0A, 0x11, 0x11},
	'Y': {0x11, 0x11, 0x11, 0x0A, 0x04, 0x04, 0x04}, 'Z': {0x1F, 0x01, 0x02, 0x04, 0x08, 0x10, 0x1F},
	'a': {0, 0, 0x0E, 0x01, 0x0F, 0x11, 0x0F}, 'b': {0x10, 0x10, 0x16, 0x19, 0x11, 0x11, 0x1E},
	'c': {0, 0, 0x0E, 0x10, 0x10, 0x11, 0x0E}, 'd': {0x01, 0x01, 0x0D, 0x13, 0x11, 0x11, 0x0F},
	'e': {0, 0, 0x0E, 0x11, 0x1F, 0x10, 0x0E}, 'f': {0x06, 0x09, 0x08, 0x1C, 0x08, 0x08, 0x08},
	'g': {0x0F, 0x11, 0x11, 0x11, 0x0F, 0x01, 0x0E}, 'h': {0x10, 0x10, 0x16, 0x19, 0x11, 0x11, 0x11},
	'i': {0x04, 0, 0x0C, 0x04, 0x04, 0x04, 0x0E}, 'j': {0x02, 0, 0x06, 0x02, 0x02, 0x12, 0x0C},
	'k': {0x10, 0x10, 0x12, 0x14, 0x18, 0x14, 0x12}, 'l': {0x0C, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0E},
	'm': {0, 0, 0x1A, 0x15, 0x15, 0x11, 0x11}, 'n': {0, 0, 0x16, 0x19, 0x11, 0x11, 0x11},
	'o': {0, 0, 0x0E, 0x11, 0x11, 0x11, 0x0E}, 'p': {0x1E, 0x11, 0x11, 0x11, 0x1E, 0x10, 0x10},
	'q': {0x0F, 0x11, 0x11, 0x11, 0x0F, 0x01, 0x01}, 'r': {0, 0, 0x16, 0x19, 0x10, 0x10, 0x10},
	's': {0, 0, 0x0E, 0x10, 0x0E, 0x01, 0x1E}, 't': {0x08, 0x08, 0x1C, 0x08, 0x08, 0x09, 0x06},
	'u': {0, 0, 0x11, 0x11, 0x11, 0x13, 0x0D}, 'v': {0, 0, 0x11, 0x11, 0x11, 0x0A, 0x04},
	'w': {0, 0, 0x11, 0x11, 0x15, 0x15, 0x0A}, 'x': {0, 0, 0x11, 0x0A, 0x04, 0x0A, 0x11},
	'y': {0x11, 0x11, 0x11, 0x11, 0x0F, 0x01, 0x0E}, 'z': {0, 0, 0x1F, 0x02, 0x04, 0x08, 0x1F},
}
