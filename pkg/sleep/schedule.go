package sleep

import (
	"time"

	"github.com/robfig/cron/v3"
)

// Zoned is a cron schedule read on the wall clock of a timezone, with the daylight saving
// changes handled as people expect of a daily alarm: a time that a change skips (02:30 on
// the night clocks go forward) fires once, just after the change, instead of that day being
// skipped; a time that a change repeats (02:30 on the night clocks go back) fires once, the
// first time. The cron package alone does neither.
type Zoned struct {
	Schedule cron.Schedule
	Location *time.Location
}

// Next is the first firing after t.
func (z Zoned) Next(t time.Time) time.Time {
	loc := z.Location
	if loc == nil {
		loc = time.UTC
	}
	// The schedule runs on the wall clock, in UTC, which has no daylight saving changes.
	wall := wallClock(t.In(loc))
	for range maxFirings {
		wall = z.Schedule.Next(wall)
		if wall.IsZero() {
			return time.Time{}
		}
		// time.Date puts a skipped wall time after the change. Of a repeated one it may pick
		// either moment: the first is the firing, and once it has passed the repetition
		// is no firing either.
		at := time.Date(wall.Year(), wall.Month(), wall.Day(), wall.Hour(), wall.Minute(), wall.Second(), 0, loc)
		if first, ok := earlierTwin(at, wall, loc); ok {
			at = first
		}
		if at.After(t) {
			return at
		}
	}
	return time.Time{}
}

// maxFirings bounds the search past repeated wall times; one or two are ever skipped.
const maxFirings = 4

// earlierTwin is the earlier moment that shows the same wall clock as at, when a change
// back of the clocks just before at repeats it.
func earlierTwin(at, wall time.Time, loc *time.Location) (time.Time, bool) {
	_, now := at.Zone()
	_, before := at.Add(-maxShift).Zone()
	if before <= now {
		return time.Time{}, false
	}
	twin := at.Add(-time.Duration(before-now) * time.Second)
	return twin, wallClock(twin.In(loc)).Equal(wall)
}

// maxShift is more than any daylight saving change, which is at most two hours.
const maxShift = 3 * time.Hour

func wallClock(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC)
}
