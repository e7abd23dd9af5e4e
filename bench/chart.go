package main

import (
	"bytes"
	"errors"
	"fmt"
	"image/color"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
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

// Chart geometry. Every panel gets the same cell, 600x500 pixels in the
// PNG (96 dpi); up to chartColumns sit side by side, more stack. The
// legend runs along the bottom of each cell, outside the data, so that it
// never hides a line.
const (
	chartDPI                                    = 96
	chartPanelWidth, chartPanelHeight vg.Length = 450, 375 // points, 1/72 inch
	chartLegendHeight                 vg.Length = 28
	chartMargin                       vg.Length = 8
	chartColumns                                = 3
)

// WriteChart draws the panels into path as a PNG and beside it, with the
// extension .svg, the same chart as SVG.
func WriteChart(path string, panels ...Panel) error {
	if len(panels) == 0 {
		return errors.New("chart: no panels")
	}
	// Everything is validated and drawn before either file is created, so
	// a bad input never leaves a half-written chart behind.
	for _, p := range panels {
		if err := p.validate(); err != nil {
			return err
		}
	}
	plots := make([]*plot.Plot, len(panels))
	for i, p := range panels {
		plots[i] = p.plot()
	}
	w, h := chartSize(len(panels))
	img := vgimg.NewWith(vgimg.UseWH(w, h), vgimg.UseDPI(chartDPI), vgimg.UseBackgroundColor(color.White))
	drawPanels(draw.New(img), panels, plots)
	var pngData bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(&pngData); err != nil {
		return err
	}
	svg := vgsvg.New(w, h)
	drawPanels(draw.New(svg), panels, plots)
	var svgData bytes.Buffer
	if _, err := svg.WriteTo(&svgData); err != nil {
		return err
	}
	if err := writeFile(path, &pngData); err != nil {
		return err
	}
	return writeFile(svgPath(path), &svgData)
}

// svgPath is where WriteChart puts the SVG of the chart at path.
func svgPath(path string) string {
	return strings.TrimSuffix(path, filepath.Ext(path)) + ".svg"
}

func writeFile(path string, data io.Reader) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, data); err != nil {
		_ = f.Close() // the copy's error is the one to report
		return err
	}
	return f.Close()
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

// chartGrid is how many columns and rows of cells n panels take.
func chartGrid(n int) (cols, rows int) {
	return min(n, chartColumns), (n + chartColumns - 1) / chartColumns
}

// chartSize is the size of a chart of n panels.
func chartSize(n int) (w, h vg.Length) {
	cols, rows := chartGrid(n)
	return vg.Length(cols) * chartPanelWidth, vg.Length(rows) * chartPanelHeight
}

// drawPanels draws each panel into its cell of c, row by row, with its
// legend in a strip along the cell's bottom.
func drawPanels(c draw.Canvas, panels []Panel, plots []*plot.Plot) {
	cols, rows := chartGrid(len(panels))
	cells := draw.Tiles{Rows: rows, Cols: cols}
	for i, p := range panels {
		cell := cells.At(c, i%cols, i/cols)
		// A margin at the top and right keeps the title and the last
		// markers off the cell's edge.
		plots[i].Draw(draw.Crop(cell, 0, -chartMargin, chartLegendHeight, -chartMargin))
		strip := draw.Crop(cell, 0, 0, chartMargin/2, chartLegendHeight-cell.Size().Y)
		drawLegendRow(strip, p.Series)
	}
}

// drawLegendRow lays the series' legend entries side by side across c;
// gonum's legend stacks its entries, so each entry is a legend of its own.
func drawLegendRow(c draw.Canvas, series []Series) {
	if len(series) == 0 {
		return
	}
	c = draw.Crop(c, 10, -10, 0, 0) // indent from the cell's edges
	places := draw.Tiles{Rows: 1, Cols: len(series)}
	for i, s := range series {
		l := plot.NewLegend()
		l.Left, l.Top = true, true
		l.Add(s.Name, seriesLine(i), seriesMarkers(i))
		l.Draw(places.At(c, i, 0))
	}
}

// plot builds the gonum plot of p: grid, one line per run of points
// without gaps, and a marker at every point.
func (p Panel) plot() *plot.Plot {
	pl := plot.New()
	pl.Title.Text = p.Title
	pl.Title.TextStyle.Font.Size = vg.Points(14)
	pl.Title.Padding = vg.Points(8)
	pl.X.Label.Text, pl.Y.Label.Text = p.XLabel, p.YLabel
	pl.X.Tick.Marker, pl.Y.Tick.Marker = compactTicks{}, compactTicks{}
	pl.X.Tick.Label.Font.Size, pl.Y.Tick.Label.Font.Size = vg.Points(11), vg.Points(11)
	pl.Add(plotter.NewGrid())
	for i, s := range p.Series {
		for _, run := range segments(p.X, s.Values) {
			if len(run) < 2 {
				continue // a lone point is its marker only
			}
			l, err := plotter.NewLine(run)
			if err != nil {
				panic(err) // segments holds finite points only
			}
			l.LineStyle = seriesLine(i).LineStyle
			pl.Add(l)
		}
	}
	// All lines first, then all markers, so no line hides another series' point.
	for i, s := range p.Series {
		var pts plotter.XYs
		for _, run := range segments(p.X, s.Values) {
			pts = append(pts, run...)
		}
		if len(pts) == 0 {
			continue
		}
		sc, err := plotter.NewScatter(pts)
		if err != nil {
			panic(err)
		}
		sc.GlyphStyle = seriesMarkers(i).GlyphStyle
		pl.Add(sc)
	}
	// Both axes start at 0 (or below, for negative data) so that
	// comparisons between x values are not exaggerated.
	pl.X.Min, pl.Y.Min = math.Min(pl.X.Min, 0), math.Min(pl.Y.Min, 0)
	if pl.Y.Max <= 0 {
		pl.Y.Max = 1 // no data, or none above 0: still an axis of some length
	}
	return pl
}

// segments splits a series into runs of consecutive finite points: a
// missing point breaks the line rather than bridging it.
func segments(xs, ys []float64) []plotter.XYs {
	var out []plotter.XYs
	var run plotter.XYs
	for i, y := range ys {
		if math.IsNaN(y) || math.IsInf(y, 0) {
			if len(run) > 0 {
				out, run = append(out, run), nil
			}
			continue
		}
		run = append(run, plotter.XY{X: xs[i], Y: y})
	}
	if len(run) > 0 {
		out = append(out, run)
	}
	return out
}

// seriesColor is the colour of the i-th series of a panel: gonum's dark
// palette, whose hues stay distinct on white.
func seriesColor(i int) color.Color { return plotutil.DarkColors[i%len(plotutil.DarkColors)] }

// seriesLine is how the i-th series' line is drawn (and shown in the legend).
func seriesLine(i int) *plotter.Line {
	return &plotter.Line{LineStyle: draw.LineStyle{Color: seriesColor(i), Width: vg.Points(2)}}
}

// seriesMarkers is how the i-th series' points are drawn: each series its
// own shape as well as colour, so the chart still reads in grey.
func seriesMarkers(i int) *plotter.Scatter {
	return &plotter.Scatter{GlyphStyle: draw.GlyphStyle{Color: seriesColor(i), Radius: vg.Points(3.5), Shape: plotutil.Shape(i)}}
}

// compactTicks are gonum's default ticks labelled the short way: 20k
// rather than 20000.
type compactTicks struct{}

func (compactTicks) Ticks(lo, hi float64) []plot.Tick {
	ticks := plot.DefaultTicks{}.Ticks(lo, hi)
	for i := range ticks {
		if ticks[i].Label != "" { // minor ticks have none
			ticks[i].Label = compactNumber(ticks[i].Value)
		}
	}
	return ticks
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
