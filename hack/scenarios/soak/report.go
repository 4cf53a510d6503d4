package soak

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
)

// maxDetails bounds how many mismatches the report describes (all are counted).
const maxDetails = 50

// Report is the outcome of a soak run.
type Report struct {
	mu           sync.Mutex
	checkSeconds []float64
	Prefix       string    `json:"prefix"`
	Seed         uint64    `json:"seed"`
	Duration     string    `json:"duration"`
	Started      time.Time `json:"started"`
	Finished     time.Time `json:"finished"`
	// Checks is how many times the checker compared everything; CheckSeconds their durations.
	Checks          int     `json:"checks"`
	CheckSecondsP50 float64 `json:"checkSecondsP50"`
	CheckSecondsMax float64 `json:"checkSecondsMax"`
	// SpacesChecked is the most Spaces one check compared.
	SpacesChecked int `json:"spacesChecked"`
	// Mismatches counts every disagreement left at a check's deadline (goal 0).
	Mismatches      int        `json:"mismatches"`
	MismatchDetails []Mismatch `json:"mismatchDetails,omitempty"`
	CheckErrors     []string   `json:"checkErrors,omitempty"`
	// Ops are the churn's requests by operation.
	Ops       []*OpStats `json:"ops"`
	Requests  int        `json:"requests"`
	Refused   int        `json:"refused"`
	Errors    int        `json:"errors"`
	ErrorRate float64    `json:"errorRate"`
	// Samples are the server's memory and goroutines over time.
	Samples []Sample `json:"samples"`
	// WarmUp is the part of the run the growth figures leave out.
	WarmUp string `json:"warmUp"`
	// RSS, RSSAnon, HeapLive and Goroutines compare the samples after the warm-up: their
	// spread, (max-min)/min, and their growth, the mean of the last quarter against the mean
	// of the first.
	RSS        Trend `json:"rss"`
	RSSAnon    Trend `json:"rssAnon"`
	HeapLive   Trend `json:"heapLive"`
	Goroutines Trend `json:"goroutines"`
	// Flat says whether each of RSS, RSSAnon, HeapLive and Goroutines grew by at most
	// FlatWithin after the warm-up.
	Flat map[string]bool `json:"flat"`
	// WarmUpHeap and EndHeap are the server's heap profiles when the warm-up ended and when
	// the churn ended (WriteReport writes them as heap-warm.pb.gz and heap-end.pb.gz).
	WarmUpHeap []byte `json:"-"`
	EndHeap    []byte `json:"-"`
}

// FlatWithin is the goal for the growth of memory and goroutines after the warm-up.
const FlatWithin = 0.10

// Mismatch is one disagreement between the server and the truth at a check's deadline.
type Mismatch struct {
	At      time.Time `json:"at"`
	Kind    string    `json:"kind"`
	Subject string    `json:"subject"`
	Want    string    `json:"want"`
	Got     string    `json:"got"`
}

// OpStats counts one operation's requests: refusals are correct answers (a limit or quota
// reached, an object already gone), errors are the rest.
type OpStats struct {
	Op       string   `json:"op"`
	Requests int      `json:"requests"`
	Refused  int      `json:"refused"`
	Errors   int      `json:"errors"`
	Examples []string `json:"examples,omitempty"`
}

// Sample is the server's state at one moment of the run: its resident memory (anonymous, and
// file-backed: the executable's pages), the Go runtime's view of it (the heap live after the
// last garbage collection, in use, idle, released to the OS, and everything it took from the
// OS) and its goroutines.
type Sample struct {
	At              string  `json:"at"`
	Seconds         float64 `json:"seconds"`
	RSSMiB          float64 `json:"rssMiB"`
	RSSAnonMiB      float64 `json:"rssAnonMiB"`
	RSSFileMiB      float64 `json:"rssFileMiB"`
	HeapLiveMiB     float64 `json:"heapLiveMiB"`
	HeapInuseMiB    float64 `json:"heapInuseMiB"`
	HeapIdleMiB     float64 `json:"heapIdleMiB"`
	HeapReleasedMiB float64 `json:"heapReleasedMiB"`
	SysMiB          float64 `json:"sysMiB"`
	Goroutines      float64 `json:"goroutines"`
}

// Trend summarises samples after the warm-up.
type Trend struct {
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
	Spread float64 `json:"spread"`
	Growth float64 `json:"growth"`
}

func (r *Report) addMismatch(kind, subject, want, got string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.Mismatches++
	if len(r.MismatchDetails) < maxDetails {
		r.MismatchDetails = append(r.MismatchDetails, Mismatch{At: time.Now().UTC(), Kind: kind, Subject: subject, Want: want, Got: got})
	}
}

func (r *Report) addCheckError(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.CheckErrors) < maxDetails {
		r.CheckErrors = append(r.CheckErrors, time.Now().UTC().Format(time.TimeOnly)+" "+err.Error())
	}
}

func (r *Report) addCheck(d time.Duration, spaces int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.Checks++
	r.checkSeconds = append(r.checkSeconds, d.Seconds())
	r.SpacesChecked = max(r.SpacesChecked, spaces)
}

func (r *Report) addSample(s Sample) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.Samples = append(r.Samples, s)
}

// finish computes the totals and trends.
func (r *Report) finish(s *stats, d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.Finished = time.Now().UTC()
	s.mu.Lock()
	for _, o := range s.ops {
		r.Ops = append(r.Ops, o)
		r.Requests += o.Requests
		r.Refused += o.Refused
		r.Errors += o.Errors
	}
	s.mu.Unlock()
	sort.Slice(r.Ops, func(i, j int) bool { return r.Ops[i].Op < r.Ops[j].Op })
	if r.Requests > 0 {
		r.ErrorRate = float64(r.Errors) / float64(r.Requests)
	}
	checks := r.checkSeconds
	sort.Float64s(checks)
	if len(checks) > 0 {
		r.CheckSecondsP50, r.CheckSecondsMax = checks[len(checks)/2], checks[len(checks)-1]
	}
	warm := warmUp(d)
	r.WarmUp = warm.String()
	var rss, anon, live, gor []float64
	for _, s := range r.Samples {
		if s.Seconds >= warm.Seconds() {
			rss = append(rss, s.RSSMiB)
			anon = append(anon, s.RSSAnonMiB)
			live = append(live, s.HeapLiveMiB)
			gor = append(gor, s.Goroutines)
		}
	}
	r.RSS, r.RSSAnon, r.HeapLive, r.Goroutines = trend(rss), trend(anon), trend(live), trend(gor)
	r.Flat = map[string]bool{}
	for name, t := range map[string]Trend{"rss": r.RSS, "rssAnon": r.RSSAnon, "heapLive": r.HeapLive, "goroutines": r.Goroutines} {
		r.Flat[name] = t.Growth <= FlatWithin
	}
}

// warmUp is the part of a run of duration d that the growth figures leave out: a fifth, at
// least 30 s.
func warmUp(d time.Duration) time.Duration {
	return max(d/5, 30*time.Second)
}

func trend(v []float64) Trend {
	if len(v) == 0 {
		return Trend{}
	}
	t := Trend{Min: math.Inf(1), Max: math.Inf(-1)}
	for _, x := range v {
		t.Min, t.Max = math.Min(t.Min, x), math.Max(t.Max, x)
	}
	if t.Min > 0 {
		t.Spread = (t.Max - t.Min) / t.Min
	}
	q := max(len(v)/4, 1)
	first, last := mean(v[:q]), mean(v[len(v)-q:])
	if first > 0 {
		t.Growth = (last - first) / first
	}
	return t
}

func mean(v []float64) float64 {
	var s float64
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}

// WriteReport writes the report as report.json and report.md in dir.
func WriteReport(dir string, r *Report) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "report.json"), data, 0o644); err != nil {
		return err
	}
	for name, p := range map[string][]byte{"heap-warm.pb.gz": r.WarmUpHeap, "heap-end.pb.gz": r.EndHeap} {
		if len(p) == 0 {
			continue
		}
		if err := os.WriteFile(filepath.Join(dir, name), p, 0o644); err != nil {
			return err
		}
	}
	return os.WriteFile(filepath.Join(dir, "report.md"), []byte(r.Markdown()), 0o644)
}

// verdict is how the report states a growth against the goal.
func verdict(flat bool) string {
	if flat {
		return fmt.Sprintf("**flat** (within %.0f %%)", 100*FlatWithin)
	}
	return fmt.Sprintf("**not flat** (more than %.0f %%)", 100*FlatWithin)
}

// Markdown is the report for people.
func (r *Report) Markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Soak run %s\n\n", r.Prefix)
	fmt.Fprintf(&b, "%s from %s to %s, seed %d.\n\n", r.Duration, r.Started.Format(time.RFC3339), r.Finished.Format(time.RFC3339), r.Seed)
	fmt.Fprintf(&b, "| figure | value |\n|---|---|\n")
	fmt.Fprintf(&b, "| checks (each: every user's Spaces against SubjectAccessReview, every AccountQuota against the objects, every Space's Template) | %d (up to %d Spaces; p50 %.1f s, max %.1f s) |\n",
		r.Checks, r.SpacesChecked, r.CheckSecondsP50, r.CheckSecondsMax)
	fmt.Fprintf(&b, "| mismatches | %d |\n", r.Mismatches)
	fmt.Fprintf(&b, "| requests | %d (%d refused as they should be, %d errors: %.3f %%) |\n", r.Requests, r.Refused, r.Errors, 100*r.ErrorRate)
	for _, f := range []struct {
		name, key, unit string
		t               Trend
	}{
		{"server RSS", "rss", " MiB", r.RSS},
		{"server RSS, anonymous (without the executable's pages)", "rssAnon", " MiB", r.RSSAnon},
		{"server Go heap live after GC", "heapLive", " MiB", r.HeapLive},
		{"server goroutines", "goroutines", "", r.Goroutines},
	} {
		fmt.Fprintf(&b, "| %s after the %s warm-up | %.0f–%.0f%s (spread %.1f %%, growth %+.1f %%): %s |\n",
			f.name, r.WarmUp, f.t.Min, f.t.Max, f.unit, 100*f.t.Spread, 100*f.t.Growth, verdict(r.Flat[f.key]))
	}
	b.WriteString("\n")
	fmt.Fprintf(&b, "## Requests\n\n| operation | requests | refused | errors |\n|---|---|---|---|\n")
	for _, o := range r.Ops {
		fmt.Fprintf(&b, "| %s | %d | %d | %d |\n", o.Op, o.Requests, o.Refused, o.Errors)
	}
	for _, o := range r.Ops {
		for _, e := range o.Examples {
			fmt.Fprintf(&b, "\n- %s: %s", o.Op, e)
		}
	}
	if len(r.MismatchDetails) > 0 {
		fmt.Fprintf(&b, "\n\n## Mismatches\n\n")
		for _, m := range r.MismatchDetails {
			fmt.Fprintf(&b, "- %s %s %s: want %s, got %s\n", m.At.Format(time.TimeOnly), m.Kind, m.Subject, m.Want, m.Got)
		}
	}
	if len(r.CheckErrors) > 0 {
		fmt.Fprintf(&b, "\n\n## Check errors\n\n- %s\n", strings.Join(r.CheckErrors, "\n- "))
	}
	fmt.Fprintf(&b, "\n\n## Samples\n\nMiB; heap live is what the last garbage collection kept, in use the spans holding objects, idle the spans free of them (released: given back to the OS), sys all the runtime took from the OS.\n\n")
	fmt.Fprintf(&b, "| at | RSS | anon | file | heap live | in use | idle | released | sys | goroutines |\n|---|---|---|---|---|---|---|---|---|---|\n")
	for _, s := range r.Samples {
		fmt.Fprintf(&b, "| %s | %.0f | %.0f | %.0f | %.0f | %.0f | %.0f | %.0f | %.0f | %.0f |\n", s.At, s.RSSMiB, s.RSSAnonMiB, s.RSSFileMiB,
			s.HeapLiveMiB, s.HeapInuseMiB, s.HeapIdleMiB, s.HeapReleasedMiB, s.SysMiB, s.Goroutines)
	}
	return b.String()
}
