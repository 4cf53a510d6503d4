package sleep

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func berlin(t *testing.T) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Europe/Berlin")
	require.NoError(t, err)
	return loc
}

// firings are the first n firings of expr in loc after from, in UTC.
func firings(t *testing.T, expr string, loc *time.Location, from time.Time, n int) []time.Time {
	t.Helper()
	s, err := ParseSchedule(expr)
	require.NoError(t, err)
	z := Zoned{Schedule: s, Location: loc}
	var out []time.Time
	for at := from; len(out) < n; {
		at = z.Next(at)
		require.False(t, at.IsZero(), "%s stopped firing", expr)
		out = append(out, at.UTC())
	}
	return out
}

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestScheduleFollowsTheTimezone(t *testing.T) {
	loc := berlin(t)
	// 20:00 in Berlin is 19:00 UTC in winter, 18:00 UTC in summer.
	assert.Equal(t, []time.Time{utc("2026-01-05T19:00:00Z"), utc("2026-01-06T19:00:00Z")},
		firings(t, "0 20 * * 1-5", loc, utc("2026-01-05T12:00:00Z"), 2))
	assert.Equal(t, []time.Time{utc("2026-07-06T18:00:00Z")},
		firings(t, "0 20 * * 1-5", loc, utc("2026-07-04T12:00:00Z"), 1), "Saturday and Sunday are skipped")
	// Without a timezone, UTC.
	assert.Equal(t, []time.Time{utc("2026-07-06T20:00:00Z")},
		firings(t, "0 20 * * 1-5", time.UTC, utc("2026-07-04T12:00:00Z"), 1))
}

func TestScheduleAcrossDaylightSavingChanges(t *testing.T) {
	loc := berlin(t)
	// 29 March 2026: clocks go from 02:00 CET to 03:00 CEST, so 02:30 does not exist. The
	// Space still sleeps that night, right after the change, and at 02:30 CEST after.
	assert.Equal(t, []time.Time{utc("2026-03-28T01:30:00Z"), utc("2026-03-29T01:30:00Z"), utc("2026-03-30T00:30:00Z")},
		firings(t, "30 2 * * *", loc, utc("2026-03-27T12:00:00Z"), 3))
	// 25 October 2026: clocks go from 03:00 CEST back to 02:00 CET, so 02:30 happens twice.
	// It fires once, the first time.
	assert.Equal(t, []time.Time{utc("2026-10-24T00:30:00Z"), utc("2026-10-25T00:30:00Z"), utc("2026-10-26T01:30:00Z")},
		firings(t, "30 2 * * *", loc, utc("2026-10-23T12:00:00Z"), 3))
	// Asked during the repeated hour, after the first 02:30, it waits for the next day.
	assert.Equal(t, []time.Time{utc("2026-10-26T01:30:00Z")},
		firings(t, "30 2 * * *", loc, utc("2026-10-25T01:00:00Z"), 1))
	// A daily 09:00 stays at 09:00 on the wall clock on both sides of each change.
	assert.Equal(t, []time.Time{utc("2026-03-28T08:00:00Z"), utc("2026-03-29T07:00:00Z")},
		firings(t, "0 9 * * *", loc, utc("2026-03-27T12:00:00Z"), 2))
	assert.Equal(t, []time.Time{utc("2026-10-24T07:00:00Z"), utc("2026-10-25T08:00:00Z")},
		firings(t, "0 9 * * *", loc, utc("2026-10-23T12:00:00Z"), 2))
}

func TestScheduleEveryMinute(t *testing.T) {
	assert.Equal(t, []time.Time{utc("2026-01-01T10:01:00Z"), utc("2026-01-01T10:02:00Z")},
		firings(t, "* * * * *", berlin(t), utc("2026-01-01T10:00:30Z"), 2))
}

func TestParseScheduleRefuses(t *testing.T) {
	for expr, want := range map[string]string{
		"":                      "cron expression",
		"61 * * * *":            "cron expression",
		"* * * *":               "cron expression",
		"0 0 * * * *":           "cron expression",
		"CRON_TZ=UTC 0 * * * *": Timezone,
		"TZ=UTC 0 * * * *":      Timezone,
		"@every 1h":             SleepAfter,
	} {
		_, err := ParseSchedule(expr)
		if assert.Error(t, err, expr) {
			assert.Contains(t, err.Error(), want, expr)
		}
	}
	for _, expr := range []string{"@daily", "0 20 * * mon-fri", "*/5 8-18 * * *"} {
		_, err := ParseSchedule(expr)
		assert.NoError(t, err, expr)
	}
}
