package scenarios

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Sample is a set of timings of one operation.
type Sample struct {
	Name string
	D    []time.Duration
}

// Add records one timing.
func (s *Sample) Add(d time.Duration) { s.D = append(s.D, d) }

// Quantile is the q-quantile (0 < q ≤ 1) by the nearest-rank method, 0 for no timings.
func (s *Sample) Quantile(q float64) time.Duration {
	if len(s.D) == 0 {
		return 0
	}
	d := slices.Clone(s.D)
	slices.Sort(d)
	i := int(q*float64(len(d))+0.999999) - 1
	return d[min(max(i, 0), len(d)-1)]
}

// Median is the 0.5-quantile.
func (s *Sample) Median() time.Duration { return s.Quantile(0.5) }

// P99 is the 0.99-quantile.
func (s *Sample) P99() time.Duration { return s.Quantile(0.99) }

// Report is what a scenario found: its setting, timings, ratios and goals, written as text.
type Report struct {
	Name    string
	Title   string
	Started time.Time
	lines   []string
	goals   []goal
}

type goal struct {
	what  string
	value float64
	limit float64
}

// NewReport starts the report of the scenario name.
func NewReport(name, title string) *Report {
	return &Report{Name: name, Title: title, Started: time.Now().UTC()}
}

// Linef adds one line of text.
func (r *Report) Linef(format string, args ...any) {
	r.lines = append(r.lines, fmt.Sprintf(format, args...))
}

// Timing adds the median and p99 of s.
func (r *Report) Timing(s *Sample) {
	r.Linef("  %-58s n=%-5d median %9s  p99 %9s", s.Name, len(s.D), ms(s.Median()), ms(s.P99()))
}

// Ratio adds a/b at the median and the p99, and returns both.
func (r *Report) Ratio(what string, a, b *Sample) (p50, p99 float64) {
	p50, p99 = ratio(a.Median(), b.Median()), ratio(a.P99(), b.P99())
	r.Linef("  ratio %-52s median %6.2f  p99 %6.2f", what, p50, p99)
	return p50, p99
}

// Goal records a figure against its limit (met when value ≤ limit).
func (r *Report) Goal(what string, value, limit float64) {
	r.goals = append(r.goals, goal{what, value, limit})
}

// Met reports whether every goal was met.
func (r *Report) Met() bool {
	for _, g := range r.goals {
		if g.value > g.limit {
			return false
		}
	}
	return true
}

// String is the report's text.
func (r *Report) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "scenario %s: %s; %s\n", r.Name, r.Title, r.Started.Format(time.RFC3339))
	for _, l := range r.lines {
		b.WriteString(l)
		b.WriteByte('\n')
	}
	if len(r.goals) > 0 {
		b.WriteString("goals:\n")
		for _, g := range r.goals {
			verdict := "met"
			if g.value > g.limit {
				verdict = "NOT MET"
			}
			fmt.Fprintf(&b, "  %-58s %8.2f ≤ %-8.2f %s\n", g.what, g.value, g.limit, verdict)
		}
	}
	return b.String()
}

// Write prints the report to out and saves it as dir/<name>.txt.
func (r *Report) Write(out io.Writer, dir string) (string, error) {
	text := r.String()
	if out != nil {
		_, _ = io.WriteString(out, text)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	path := filepath.Join(dir, r.Name+".txt")
	return path, os.WriteFile(path, []byte(text), 0o644)
}

func ratio(a, b time.Duration) float64 {
	if b <= 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// ms prints d in milliseconds with two decimals.
func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000) }
