package soak

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestTrendLeavesOutTheWarmUpAndComparesQuarters(t *testing.T) {
	r := &Report{}
	// 100 s: RSS climbs for the first 30 s (the warm-up's floor), then is flat at 100 with one
	// peak; goroutines step from 500 to 600 at 70 s.
	for s := 0; s <= 100; s += 10 {
		rss, gor := 100.0, 500.0
		if s >= 70 {
			gor = 600
		}
		if s < 30 {
			rss = float64(40 + 2*s)
		}
		if s == 60 {
			rss = 110
		}
		r.addSample(Sample{Seconds: float64(s), RSSMiB: rss, Goroutines: gor})
	}
	r.finish(newStats(), 100*time.Second)
	assert.Equal(t, "30s", r.WarmUp)
	assert.Equal(t, Trend{Min: 100, Max: 110, Spread: 0.1, Growth: 0}, r.RSS)
	assert.InDelta(t, 0.2, r.Goroutines.Spread, 1e-9)
	assert.InDelta(t, 0.2, r.Goroutines.Growth, 1e-9, "the last quarter (2 samples) against the first")
}

func TestRecordCountsRefusalsApartFromErrors(t *testing.T) {
	s := newStats()
	ctx := t.Context()
	refused := func(err error) bool { return err.Error() == "limit" }
	_ = s.record(ctx, "create", nil, refused)
	_ = s.record(ctx, "create", errString("limit"), refused)
	_ = s.record(ctx, "create", errString("boom"), refused)
	r := &Report{}
	r.finish(s, time.Minute)
	assert.Equal(t, []*OpStats{{Op: "create", Requests: 3, Refused: 1, Errors: 1, Examples: []string{"boom"}}}, r.Ops)
	assert.InDelta(t, 1.0/3, r.ErrorRate, 1e-9)
}

func TestMetric(t *testing.T) {
	text := []byte("# HELP go_goroutines Number of goroutines.\n# TYPE go_goroutines gauge\ngo_goroutines 594\ngo_threads 12\n")
	assert.Equal(t, 594.0, metric(text, "go_goroutines"))
	assert.Equal(t, 0.0, metric(text, "missing"))
}

type errString string

func (e errString) Error() string { return string(e) }

func TestReportStatesWhetherEachFigureStayedFlat(t *testing.T) {
	r := &Report{}
	// After the 30 s warm-up: RSS flat at 200 MiB, of which the live heap grows from 40 to 60.
	for s := 0; s <= 100; s += 10 {
		live := 40.0
		if s >= 70 {
			live = 60
		}
		r.addSample(Sample{Seconds: float64(s), RSSMiB: 200, RSSAnonMiB: 120, HeapLiveMiB: live, Goroutines: 500})
	}
	r.finish(newStats(), 100*time.Second)
	assert.Equal(t, map[string]bool{"rss": true, "rssAnon": true, "heapLive": false, "goroutines": true}, r.Flat)
	md := r.Markdown()
	assert.Contains(t, md, "| server RSS after the 30s warm-up | 200–200 MiB (spread 0.0 %, growth +0.0 %): **flat** (within 10 %) |")
	assert.Contains(t, md, "| server Go heap live after GC after the 30s warm-up | 40–60 MiB (spread 50.0 %, growth +50.0 %): **not flat** (more than 10 %) |")
}
